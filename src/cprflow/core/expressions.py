"""Diagram expressions: how scripts, conditions, timers and DMN cells are checked and run.

Every expression in a diagram is code written by a process owner in a browser, so it runs
under RestrictedPython (compiled with ``compile_restricted_*``, with its guards), against a
small set of date helpers, with the engine clock injected and a time and a memory bound on
each engine step.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import math
import operator
import os
import sys
import threading
import time
from calendar import monthrange
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins  # type: ignore[attr-defined]
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.Limits import limited_range
from RestrictedPython.transformer import RestrictingNodeTransformer

from cprflow.core.errors import ExpressionError, StepTimeout

try:  # POSIX only; elsewhere the operator guards below are the only memory bound
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

# Names refused at deploy even though they would only fail at run time: a diagram that
# mentions them is an attempt at something no review process needs.
FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "breakpoint",
        "input",
        "help",
        "memoryview",
        "type",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
        "dir",
        "id",
        "hash",
    }
)

_clock: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("cprflow_clock", default=None)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("cprflow_deadline", default=None)


def clock_now() -> datetime:
    """The engine's idea of now: the injected clock if set, else the real UTC time."""
    injected = _clock.get()
    return injected if injected is not None else datetime.now(UTC)


class EngineDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module so timers read our clock."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        current = clock_now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


@contextlib.contextmanager
def engine_context(now: datetime, step_seconds: float) -> Iterator[None]:
    """Run engine steps as of ``now``, failing any that take longer than ``step_seconds``."""
    if now.tzinfo is None:
        raise ValueError("the engine clock must be timezone-aware (UTC)")
    clock_token = _clock.set(now.astimezone(UTC))
    deadline_token = _deadline.set(time.monotonic() + step_seconds)
    try:
        with _memory_bound():
            yield
    finally:
        _deadline.reset(deadline_token)
        _clock.reset(clock_token)


# ---------------------------------------------------------------------------------------------
# The memory bound. Diagram code could exhaust the machine in one line (``"a" * 10**10``), and the
# time bound cannot stop it: a single C call allocating gigabytes runs no traced Python line.
# Two layers, because neither alone is robust:
#
# 1. Operator guards (``_binop_`` below, woven into the compiled code, and ``pow``): before ``*``,
#    ``**``, ``<<`` or ``+`` builds a string, list, tuple or int, its size is worked out and
#    anything over MAX_ITEMS items or MAX_INT_BITS bits is refused with a clear ExpressionError.
#    This holds wherever the code runs (tests, ``cprflow serve``, gunicorn), costs a function call,
#    and also stops the CPU-bound cases (``10 ** 10 ** 10``) that no memory limit would. Constant
#    cases are refused at deploy. But the ways to allocate in one call are many (``str.ljust``,
#    format widths, a loop of values each under the cap), so guards alone are whack-a-mole.
# 2. An address-space limit (RLIMIT_AS) for the length of each engine step: the process may grow
#    by at most CPRFLOW_STEP_MEMORY_MB while diagram code runs; past that every allocation fails
#    with MemoryError, which the engine turns into ScriptFailed (instance in error, nothing
#    saved). It is set when the first concurrent step starts and lifted when the last ends, so it
#    needs no cooperation from how the process was started, and never limits the process between
#    steps (a process-wide limit set at start-up would also bind children such as browsers).
#    Other threads share the headroom during a step; a gigabyte by default is far above what
#    a request needs.

#: Largest str, bytes, list or tuple an operator in diagram code may build, in items.
MAX_ITEMS = 10_000_000
#: Largest int an operator in diagram code may build, in bits (about 300,000 decimal digits).
MAX_INT_BITS = 1_000_000
_SEQUENCES = (str, bytes, list, tuple)


def _too_big(what: str) -> ExpressionError:
    return ExpressionError(f"diagram code tried to build {what}, more than the sandbox allows")


def _int_like(value: Any) -> bool:
    return isinstance(value, int)


def _check_binop(symbol: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before it is computed."""
    if symbol == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and _int_like(times) and len(seq) * max(times, 0) > MAX_ITEMS:
                raise _too_big(f"a sequence of {len(seq) * times:,} items")
        if _int_like(left) and _int_like(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _too_big("an integer over a million bits")
    elif symbol == "**":
        if _int_like(left) and _int_like(right) and right > 0 and abs(left) > 1:
            if math.log2(abs(left)) * right > MAX_INT_BITS:
                raise _too_big("an integer over a million bits")
    elif symbol == "<<":
        if _int_like(left) and _int_like(right) and left and right > 0 and left.bit_length() + right > MAX_INT_BITS:
            raise _too_big("an integer over a million bits")
    elif symbol == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) and len(left) + len(right) > MAX_ITEMS:
            raise _too_big(f"a sequence of {len(left) + len(right):,} items")


check_binop = _check_binop  # also bounds the templates' operators (core.templates)

_OPERATORS = {"*": operator.mul, "**": operator.pow, "<<": operator.lshift, "+": operator.add}


def guarded_binop(symbol: str, left: Any, right: Any) -> Any:
    _check_binop(symbol, left, right)
    return _OPERATORS[symbol](left, right)


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return guarded_binop("**", base, exp)
    return pow(base, exp, mod)  # modular: the result is smaller than mod


_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Add: "+"}


class _BoundedTransformer(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus ``a * b`` -> ``_binop_("*", a, b)`` for the guarded operators."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(symbol), node.left, node.right], keywords=[]
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))


def _constant(node: ast.AST) -> Any:
    """The value of a constant expression (literals and guarded arithmetic on them), else _NOT_CONSTANT."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand)
        return -value if isinstance(value, (int, float)) else _NOT_CONSTANT
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_constant(e) for e in node.elts]
        if any(i is _NOT_CONSTANT for i in items):
            return _NOT_CONSTANT
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and type(node.op) in _GUARDED_OPS:
        left, right = _constant(node.left), _constant(node.right)
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT:
            return _NOT_CONSTANT
        try:
            return guarded_binop(_GUARDED_OPS[type(node.op)], left, right)
        except ExpressionError:
            raise
        except Exception:
            return _NOT_CONSTANT
    return _NOT_CONSTANT


_NOT_CONSTANT = object()


def constant_value(text: str) -> Any:
    """The value of an expression that is a constant (``3000``, ``30 * 100``), else None."""
    try:
        value = _constant(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, RecursionError, ExpressionError, ValueError):
        return None
    return None if value is _NOT_CONSTANT else value


_memory_lock = threading.Lock()
_memory_steps = 0
_memory_saved: tuple[int, int] | None = None
_step_memory_bytes: int | None = None


def _step_memory() -> int:
    """CPRFLOW_STEP_MEMORY_MB in bytes (0: no limit), read once per process."""
    global _step_memory_bytes
    if _step_memory_bytes is None:
        from cprflow.config import Settings

        _step_memory_bytes = max(0, int(Settings.from_env().step_memory_mb * 1024 * 1024))
    return _step_memory_bytes


_statm: tuple[int, int] | None = None  # (pid, fd): /proc/self is resolved at open, so reopen after a fork


def _address_space() -> int | None:
    """The process's address space in bytes (Linux), or None where it cannot be read."""
    global _statm
    try:
        if _statm is None or _statm[0] != os.getpid():
            _statm = (os.getpid(), os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        return int(os.pread(_statm[1], 128, 0).split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@contextlib.contextmanager
def _memory_bound() -> Iterator[None]:
    """Let the process grow by at most the step memory while engine steps run (see above).

    The limit in force before the first step is kept and put back when the last concurrent step
    ends. Each step that starts meanwhile may raise the ceiling to its own start plus the headroom
    (never above the limit that was in force), so overlapping steps do not pin it for ever.
    """
    global _memory_steps, _memory_saved
    headroom = _step_memory()
    if resource is None or headroom <= 0:
        yield
        return
    with _memory_lock:
        if _memory_steps == 0 or _memory_saved is None:
            _memory_saved = resource.getrlimit(resource.RLIMIT_AS)
        soft, hard = _memory_saved
        used = _address_space()
        if used is not None:
            ceiling = used + headroom
            current = resource.getrlimit(resource.RLIMIT_AS)[0]
            if (soft == resource.RLIM_INFINITY or ceiling < soft) and (
                _memory_steps == 0 or current == resource.RLIM_INFINITY or ceiling > current
            ):
                resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
        _memory_steps += 1
    try:
        yield
    finally:
        with _memory_lock:
            _memory_steps -= 1
            if _memory_steps == 0 and _memory_saved is not None:
                resource.setrlimit(resource.RLIMIT_AS, _memory_saved)
                _memory_saved = None


memory_bound = _memory_bound  # also bounds rendering templates (core.templates)


def check_deadline() -> None:
    """Raise StepTimeout if the current engine step has run past its time bound."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise StepTimeout("engine step took longer than its time bound")


_check_deadline = check_deadline


# ---------------------------------------------------------------------------------------------
# Helpers available to every diagram expression. Generic date arithmetic only: the review's
# rules (which duration, from which date) stay in the diagrams.


def _parse_when(value: Any) -> date | datetime:
    if isinstance(value, (date, datetime)):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date or datetime, got {value!r}")
    if len(value) == 10:
        return date.fromisoformat(value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_duration(text: str) -> tuple[int, timedelta]:
    """ISO 8601 duration -> (months, rest). Years and months are calendar arithmetic."""
    if not isinstance(text, str) or not text.upper().startswith("P"):
        raise ValueError(f"expected an ISO 8601 duration such as 'P6M', got {text!r}")
    body = text.upper()[1:]
    date_part, t, time_part = body.partition("T")
    if not body or (t and not time_part):  # "P" or "P1DT": no amount, so no duration
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    months, days, seconds = 0, 0.0, 0.0
    for part, units in (
        (date_part, {"Y": 12 * 31, "M": 31, "W": 7, "D": 1}),
        (time_part, {"H": 3600, "M": 60, "S": 1}),
    ):
        number = ""
        for char in part:
            if char.isdigit() or char == ".":
                number += char
                continue
            if char not in units or not number:
                raise ValueError(f"not an ISO 8601 duration: {text!r}")
            amount = float(number)
            if part is date_part and char in "YM":
                if not amount.is_integer():
                    # Half a month has no calendar meaning: say P2W or P15D instead.
                    raise ValueError(
                        f"years and months must be whole numbers in the duration {text!r}: use weeks or days"
                    )
                months += int(amount) * (12 if char == "Y" else 1)
            elif part is date_part:
                days += amount * units[char]
            else:
                seconds += amount * units[char]
            number = ""
        if number:
            raise ValueError(f"not an ISO 8601 duration: {text!r}")
    return months, timedelta(days=days, seconds=seconds)


def _add_months(value: date, months: int) -> date:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, monthrange(year, month)[1]))


def shift(when: datetime, duration: str, *, backwards: bool = False) -> datetime:
    """``when`` moved by an ISO 8601 duration: months and years on the calendar, a month end
    staying in its month (31 January + P1M = 28 February), then weeks, days and time.

    The one date arithmetic of cprflow: diagram helpers (``add_duration``) and the engine's
    duration timers both use it, so a period means the same day wherever it is written."""
    months, rest = _parse_duration(duration)
    if backwards:
        return datetime.combine(_add_months(when.date(), -months), when.timetz()) - rest
    return datetime.combine(_add_months(when.date(), months), when.timetz()) + rest


def add_duration(value: Any, duration: str) -> str:
    """``add_duration("2026-01-31", "P1M") == "2026-02-28"``; datetimes stay datetimes."""
    when = _parse_when(value)
    if isinstance(when, datetime):
        return shift(when, duration).isoformat()
    return shift(datetime.combine(when, datetime.min.time()), duration).date().isoformat()


def days_between(start: Any, end: Any) -> int:
    """Whole calendar days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    first, last = _parse_when(start), _parse_when(end)
    return (_as_date(last) - _as_date(first)).days


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@functools.lru_cache(maxsize=64)
def _wales_bank_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv="WLS", years=year))


def is_working_day(value: Any) -> bool:
    """Monday to Friday and not a Wales bank holiday."""
    when = _parse_when(value)
    day = when.date() if isinstance(when, datetime) else when
    return day.weekday() < 5 and day not in _wales_bank_holidays(day.year)


def add_working_days(value: Any, days: int) -> str:
    """The date ``days`` working days after ``value`` (Wales bank holidays and weekends skipped)."""
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > 10_000:
        raise ValueError(f"expected a whole number of working days, got {days!r}")
    when = _parse_when(value)
    day = when.date() if isinstance(when, datetime) else when
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day.isoformat()


def working_days_between(start: Any, end: Any) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    first, last = _parse_when(start), _parse_when(end)
    a = first.date() if isinstance(first, datetime) else first
    b = last.date() if isinstance(last, datetime) else last
    sign, (a, b) = (1, (a, b)) if a <= b else (-1, (b, a))
    count = sum(1 for n in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=n)))
    return sign * count


def timer_at(value: Any) -> str:
    """An absolute timer moment (UTC ISO datetime) from a date or datetime: dates mean midnight UTC."""
    when = _parse_when(value)
    if not isinstance(when, datetime):
        when = datetime.combine(when, datetime.min.time(), UTC)
    return when.astimezone(UTC).isoformat()


#: Due dates are days in Wales: a task due on a day may be done at any time that day there.
WALES = ZoneInfo("Europe/London")


def day_of(value: Any) -> date | None:
    """The day a stored value names, for reading case data and forms, never raising: a date; a
    datetime's day in Wales (a naive one as it is); an ISO date or datetime string's date part
    (its first ten characters); anything else, or a malformed string, None."""
    if isinstance(value, datetime):
        return (value.astimezone(WALES) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def timer_after_day(value: Any) -> str:
    """The moment a due day is over in Wales (00:00 Europe/London the next day), as a UTC ISO datetime.

    An alarm for something due on ``value`` waits for this, so completing on the due day is on time
    in winter and in summer time alike. A datetime counts as its day in Wales."""
    when = _parse_when(value)
    day = when.astimezone(WALES).date() if isinstance(when, datetime) else when
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), WALES).astimezone(UTC).isoformat()


def now() -> str:
    return clock_now().isoformat()


def today() -> str:
    return clock_now().date().isoformat()


HELPERS: dict[str, Any] = {
    "add_duration": add_duration,
    "days_between": days_between,
    "add_working_days": add_working_days,
    "working_days_between": working_days_between,
    "timer_at": timer_at,
    "timer_after_day": timer_after_day,
    "now": now,
    "today": today,
}

_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(
    {
        "range": limited_range,
        "list": list,
        "dict": dict,
        "set": set,
        "frozenset": frozenset,
        "tuple": tuple,
        "sum": sum,
        "min": min,
        "max": max,
        "any": any,
        "all": all,
        "sorted": sorted,
        "enumerate": enumerate,
        "zip": zip,
        "reversed": reversed,
        "map": map,
        "filter": filter,
        "pow": _guarded_pow,
    }
)
for _name in FORBIDDEN_NAMES:
    _BUILTINS.pop(_name, None)

_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
    "_binop_": guarded_binop,
}
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda x, y: guarded_binop("+", x, y),
    "-=": lambda x, y: x - y,
    "*=": lambda x, y: guarded_binop("*", x, y),
    "/=": lambda x, y: x / y,
    "//=": lambda x, y: x // y,
    "%=": lambda x, y: x % y,
    "|=": lambda x, y: x | y,
    "&=": lambda x, y: x & y,
    "**=": lambda x, y: guarded_binop("**", x, y),
    "<<=": lambda x, y: guarded_binop("<<", x, y),
}
GLOBAL_NAMES = frozenset(_GUARDS) | frozenset(HELPERS)


# ---------------------------------------------------------------------------------------------
# Compilation: the same function checks at deploy and compiles at run time, cached by text.


def _refuse_visible_hazards(tree: ast.AST) -> list[str]:
    problems = []
    # Constant arithmetic is worked out once, from the outermost operation (not again for each part).
    inner = {id(part) for node in ast.walk(tree) if isinstance(node, ast.BinOp) for part in (node.left, node.right)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append("imports are not allowed in diagram expressions")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"'{node.id}' is not allowed in diagram expressions")
        elif (
            isinstance(node, ast.While)
            and _always_true(node.test)
            and not any(isinstance(inner, ast.Break) for inner in ast.walk(node))
        ):
            problems.append("an endless loop ('while' with a constant true test and no break)")
        elif isinstance(node, ast.BinOp) and type(node.op) in _GUARDED_OPS and id(node) not in inner:
            try:
                _constant(node)
            except ExpressionError as err:
                problems.append(err.message)
    return problems


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


@lru_cache(maxsize=4096)
def compile_expression(text: str, mode: str = "eval") -> CodeType:
    """Compile a diagram expression (``eval``) or script (``exec``), or raise ExpressionError."""
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as err:
        raise ExpressionError(f"syntax error: {err.msg}", line=err.lineno) from None
    except RecursionError:  # the parser, the checks and the compiler all recurse on nesting
        raise ExpressionError("the expression nests too deeply") from None
    try:
        problems = _refuse_visible_hazards(tree)
        if problems:
            raise ExpressionError("; ".join(dict.fromkeys(problems)))
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        result = compiler(text, "<diagram>", policy=_BoundedTransformer)
    except RecursionError:
        raise ExpressionError("the expression nests too deeply") from None
    if result.errors or result.code is None:
        raise ExpressionError("; ".join(result.errors) or "could not compile")
    return result.code


def check_expression(text: str, mode: str = "eval") -> None:
    """Raise ExpressionError if ``text`` would be refused at run time."""
    compile_expression(text, mode)


@contextlib.contextmanager
def _time_bound() -> Iterator[None]:
    """Trace only the diagram's own code, so a script that loops past the deadline is stopped."""
    _check_deadline()
    deadline = _deadline.get()
    if deadline is None:
        yield
        return

    def local(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise StepTimeout("a diagram script ran longer than the engine step time bound")
        return local

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == "<diagram>" else None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        yield
    finally:
        sys.settrace(previous)


#: What diagram code may raise that is not an ``Exception``: left alone, each would end the thread
#: running the step (the timer worker, a web request) instead of failing the step.
_ESCAPES = (SystemExit, KeyboardInterrupt, GeneratorExit)


def _escaped(err: BaseException) -> ExpressionError:
    return ExpressionError(f"diagram code raised {type(err).__name__}, which only fails its step")


def evaluate(text: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    code = compile_expression(text, "eval")
    scope = dict(_GUARDS)
    scope.update(HELPERS)
    scope.update(extra or {})
    scope.update(context)
    try:
        with _time_bound():
            return eval(code, scope)
    except _ESCAPES as err:
        raise _escaped(err) from None


@lru_cache(maxsize=4096)
def loop_names(text: str) -> frozenset[str]:
    """The names a script's ``for`` loops bind: working variables, not data the script produces."""
    return frozenset(
        target.id
        for node in ast.walk(ast.parse(text, mode="exec"))
        if isinstance(node, ast.For)
        for target in ast.walk(node.target)
        if isinstance(target, ast.Name)
    )


def execute(text: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script against task data: names it assigns become task data, except its loop variables
    (unless the data had them already), which would otherwise surface as changes of the case."""
    code = compile_expression(text, "exec")
    loops = {name for name in loop_names(text) if name not in context}
    clashes = (GLOBAL_NAMES | set(extra or {})) & set(context)
    if clashes:
        raise ExpressionError(f"task data uses reserved names: {', '.join(sorted(clashes))}")
    injected = dict(_GUARDS)
    injected.update(HELPERS)
    injected.update(extra or {})
    context.update(injected)
    try:
        with _time_bound():
            exec(code, context)
    except _ESCAPES as err:
        raise _escaped(err) from None
    finally:
        for key in list(context):
            if key in injected or key in loops or key == "__builtins__" or callable(context[key]):
                context.pop(key)
