"""Diagram expressions: how scripts, conditions, timers and DMN cells are checked and run.

Every expression in a diagram is code written by a process owner in a browser, so it runs
under RestrictedPython (compiled with ``compile_restricted_*``, with its guards), against a
small set of date helpers, with the engine clock injected and a time bound on each engine step.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import sys
import time
from calendar import monthrange
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.Limits import limited_range

from cprflow.errors import ExpressionError, StepTimeout

# Names refused at deploy even though they would only fail at run time: a diagram that
# mentions them is an attempt at something no review process needs.
FORBIDDEN_NAMES = frozenset(
    {
        "open", "exec", "eval", "compile", "globals", "locals", "vars", "getattr", "setattr",
        "delattr", "breakpoint", "input", "help", "memoryview", "type", "object", "super",
        "classmethod", "staticmethod", "property", "dir", "id", "hash",
    }
)

_clock: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("cprflow_clock", default=None)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("cprflow_deadline", default=None)


def clock_now() -> datetime:
    """The engine's idea of now: the injected clock if set, else the real UTC time."""
    injected = _clock.get()
    return injected if injected is not None else datetime.now(timezone.utc)


class EngineDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module so timers read our clock."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        current = clock_now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


@contextlib.contextmanager
def engine_context(now: datetime, step_seconds: float) -> Iterator[None]:
    """Run engine steps as of ``now``, failing any that take longer than ``step_seconds``."""
    if now.tzinfo is None:
        raise ValueError("the engine clock must be timezone-aware (UTC)")
    clock_token = _clock.set(now.astimezone(timezone.utc))
    deadline_token = _deadline.set(time.monotonic() + step_seconds)
    try:
        yield
    finally:
        _deadline.reset(deadline_token)
        _clock.reset(clock_token)


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise StepTimeout("engine step took longer than its time bound")


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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _parse_duration(text: str) -> tuple[int, timedelta]:
    """ISO 8601 duration -> (months, rest). Years and months are calendar arithmetic."""
    if not isinstance(text, str) or not text.upper().startswith("P"):
        raise ValueError(f"expected an ISO 8601 duration such as 'P6M', got {text!r}")
    body = text.upper()[1:]
    date_part, _, time_part = body.partition("T")
    months, days, seconds = 0, 0.0, 0.0
    for part, units in ((date_part, {"Y": 12 * 31, "M": 31, "W": 7, "D": 1}), (time_part, {"H": 3600, "M": 60, "S": 1})):
        number = ""
        for char in part:
            if char.isdigit() or char == ".":
                number += char
                continue
            if char not in units or not number:
                raise ValueError(f"not an ISO 8601 duration: {text!r}")
            amount = float(number)
            if part is date_part and char in "YM":
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


def add_duration(value: Any, duration: str) -> str:
    """``add_duration("2026-01-31", "P1M") == "2026-02-28"``; datetimes stay datetimes."""
    when = _parse_when(value)
    months, rest = _parse_duration(duration)
    if isinstance(when, datetime):
        shifted = datetime.combine(_add_months(when.date(), months), when.timetz()) + rest
        return shifted.isoformat()
    return (_add_months(when, months) + rest).isoformat()


def days_between(start: Any, end: Any) -> int:
    """Whole calendar days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    first, last = _parse_when(start), _parse_when(end)
    as_date = lambda v: v.date() if isinstance(v, datetime) else v  # noqa: E731
    return (as_date(last) - as_date(first)).days


def timer_at(value: Any) -> str:
    """An absolute timer moment (UTC ISO datetime) from a date or datetime: dates mean midnight UTC."""
    when = _parse_when(value)
    if not isinstance(when, datetime):
        when = datetime.combine(when, datetime.min.time(), timezone.utc)
    return when.astimezone(timezone.utc).isoformat()


def now() -> str:
    return clock_now().isoformat()


def today() -> str:
    return clock_now().date().isoformat()


HELPERS: dict[str, Any] = {
    "add_duration": add_duration,
    "days_between": days_between,
    "timer_at": timer_at,
    "now": now,
    "today": today,
}

_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(
    {
        "range": limited_range,
        "list": list, "dict": dict, "set": set, "frozenset": frozenset, "tuple": tuple,
        "sum": sum, "min": min, "max": max, "any": any, "all": all, "sorted": sorted,
        "enumerate": enumerate, "zip": zip, "reversed": reversed, "map": map, "filter": filter,
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
}
_INPLACE = {
    "+=": lambda x, y: x + y, "-=": lambda x, y: x - y, "*=": lambda x, y: x * y,
    "/=": lambda x, y: x / y, "//=": lambda x, y: x // y, "%=": lambda x, y: x % y,
    "|=": lambda x, y: x | y, "&=": lambda x, y: x & y,
}
GLOBAL_NAMES = frozenset(_GUARDS) | frozenset(HELPERS)


# ---------------------------------------------------------------------------------------------
# Compilation: the same function checks at deploy and compiles at run time, cached by text.


def _refuse_visible_hazards(tree: ast.AST) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append("imports are not allowed in diagram expressions")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"'{node.id}' is not allowed in diagram expressions")
        elif isinstance(node, ast.While) and _always_true(node.test) and not any(
            isinstance(inner, ast.Break) for inner in ast.walk(node)
        ):
            problems.append("an endless loop ('while' with a constant true test and no break)")
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
    problems = _refuse_visible_hazards(tree)
    if problems:
        raise ExpressionError("; ".join(dict.fromkeys(problems)))
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(text, "<diagram>")
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


def evaluate(text: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    code = compile_expression(text, "eval")
    scope = dict(_GUARDS)
    scope.update(HELPERS)
    scope.update(extra or {})
    scope.update(context)
    with _time_bound():
        return eval(code, scope)  # noqa: S307 - restricted code with guarded builtins


def execute(text: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Run a script against task data: names it assigns become task data."""
    code = compile_expression(text, "exec")
    clashes = (GLOBAL_NAMES | set(extra or {})) & set(context)
    if clashes:
        raise ExpressionError(f"task data uses reserved names: {', '.join(sorted(clashes))}")
    injected = dict(_GUARDS)
    injected.update(HELPERS)
    injected.update(extra or {})
    context.update(injected)
    try:
        with _time_bound():
            exec(code, context)  # noqa: S102 - restricted code with guarded builtins
    finally:
        for key in list(context):
            if key in injected or key == "__builtins__" or callable(context[key]):
                context.pop(key)
