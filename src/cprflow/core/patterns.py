"""Regular expressions written by process owners (form ``pattern`` keywords, anonymisation rules).

They run on text people submit, so a pattern that backtracks catastrophically (``^(a|aa)+$``
against 37 characters) could hold a worker for minutes. Three defences, all built on the ``regex``
package:

* **At deploy** every pattern is compiled and probed: run against long inputs built from the
  pattern's own characters (``z`` for ``(z|z)+y``) and from common ones; a pattern whose probes
  need more than PROBE_SECONDS of the searching thread's **processor** time is refused (processor
  time, so that a busy shared machine does not make a linear pattern look slow; a wall-clock
  backstop of PROBE_WALL_SECONDS still applies), and so is any left once the deploy's whole budget
  for probing, in wall-clock time, is spent (``Budget``).
* **At run time** every search has a bound in **wall-clock** time. ``regex``'s own ``timeout``
  counts the CPU time of the searching thread, which on a loaded machine is a fraction of the time
  that passes (a 2 s timeout took 5-13 s), so the search runs in a worker thread with the GIL
  released (``concurrent=True``, so the rest of the process carries on) while the caller waits at
  most the bound; the abandoned search stops by itself at the same bound in CPU time.
* Matches are capped (``MAX_MATCHES``), so a pattern matching everywhere cannot build a huge list.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import regex

#: Most matches one search returns; a search that finds more is cut there.
MAX_MATCHES = 10_000
#: How long the probes of one pattern may take together at deploy: seconds of the searching
#: thread's processor time (the run-time bound per value is the same figure in wall-clock time).
PROBE_SECONDS = 0.25
#: The wall-clock backstop for one pattern's probes, for a machine so busy the thread barely runs
#: (at 0.25 s of wall clock a busy CI machine refused a shipped ``^F[0-9]+$``).
PROBE_WALL_SECONDS = 3.0
#: How long the probes of one whole deploy may take together (wall clock, seconds).
DEPLOY_PROBE_SECONDS = 10.0
#: Length of each probe input.
PROBE_LENGTH = 3000
_COMMON = ("a", "1", " ", "a1", "1 ", "a ", "0 1", "ab", "-", ".", "12 ", "AB1 ", "0")
_CLASS_SAMPLES = {"d": "1", "w": "a", "s": " ", "D": "a", "W": "-", "S": "a"}
_MAX_OWN = 16  # characters taken from the pattern itself


class PatternTimeout(Exception):
    """A search did not finish within its time bound."""


_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """A small pool of search threads per process (made after any fork, never inherited)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=4, thread_name_prefix="cprflow-pattern"))
        return _pool[1]


def _collect(pattern: Any, text: str, seconds: float, stop: threading.Event) -> list[tuple[int, int, str]]:
    found = []
    for match in pattern.finditer(text, concurrent=True, timeout=seconds):
        found.append((match.start(), match.end(), match.group()))
        if len(found) >= MAX_MATCHES or stop.is_set():
            break
    return found


def find_all(pattern: Any, text: str, seconds: float) -> list[tuple[int, int, str]]:
    """(start, end, text) of each match of a compiled ``regex`` pattern, or PatternTimeout if the
    search takes longer than ``seconds`` of wall-clock time."""
    if seconds <= 0:
        raise PatternTimeout("no time left to search")
    stop = threading.Event()
    future: Future[list[tuple[int, int, str]]] = _executor().submit(_collect, pattern, text, seconds, stop)
    try:
        return future.result(timeout=seconds)
    except (FutureTimeout, TimeoutError):
        stop.set()
        future.cancel()
        raise PatternTimeout(f"the search took longer than {seconds:g}s") from None


def search(pattern: Any, text: str, seconds: float) -> bool:
    """Whether a compiled pattern matches anywhere in ``text`` (``re.search``), within ``seconds``."""
    if seconds <= 0:
        raise PatternTimeout("no time left to search")
    future: Future[Any] = _executor().submit(pattern.search, text, concurrent=True, timeout=seconds)
    try:
        return future.result(timeout=seconds) is not None
    except (FutureTimeout, TimeoutError):
        future.cancel()
        raise PatternTimeout(f"the search took longer than {seconds:g}s") from None


# ---------------------------------------------------------------------------------------------
# Deploy: compile and probe


class Budget:
    """The wall-clock time a deploy may spend probing patterns, shared by all of them."""

    def __init__(self, seconds: float | None = None) -> None:
        self.deadline = time.monotonic() + (DEPLOY_PROBE_SECONDS if seconds is None else seconds)

    def left(self) -> float:
        return self.deadline - time.monotonic()


def probe_inputs(source: str) -> list[str]:
    """Long inputs that make a backtracking pattern blow up: runs of the pattern's own characters
    (and pairs of them) and of common ones, each ending in a character that breaks the match."""
    own: list[str] = []
    escaped = False
    for char in source:
        if escaped:
            sample = _CLASS_SAMPLES.get(char, char if not char.isalpha() else "")
            escaped = False
        elif char == "\\":
            escaped = True
            continue
        else:
            sample = "a" if char == "." else char if char.isalnum() or char in " -_/:,@#'" else ""
        if sample and sample not in own:
            own.append(sample)
    own = own[:_MAX_OWN]
    units = [*own, *(a + b for a, b in zip(own, own[1:], strict=False)), *_COMMON]
    tail = next(c for c in "!\x00~;" if c not in source)
    inputs = []
    for unit in dict.fromkeys(units):
        inputs.append(unit * (PROBE_LENGTH // len(unit)) + tail)
    return inputs


def compile_checked(source: str, flags: int = 0, budget: Budget | None = None) -> tuple[Any, str | None]:
    """(compiled pattern, None), or (None, what is wrong with it) for a deploy to refuse."""
    try:
        pattern = regex.compile(source, flags)
    except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as err:
        return None, f"the pattern does not compile: {err}"
    problem = probe(pattern, source, budget)
    return (None, problem) if problem else (pattern, None)


def _probe_one(pattern: Any, text: str, cpu_seconds: float) -> float:
    """Search ``text`` in this (worker) thread, bounded by ``regex``'s own processor-time timeout;
    the processor time it took, or TimeoutError."""
    began = time.thread_time()
    for _ in pattern.finditer(text, concurrent=True, timeout=cpu_seconds):
        pass
    return time.thread_time() - began


def probe(pattern: Any, source: str, budget: Budget | None = None) -> str | None:
    """None if ``pattern`` gets through every probe input in time, else why not."""
    own = time.monotonic() + PROBE_WALL_SECONDS
    out_of_time = budget is not None and budget.deadline < own  # the deploy's budget binds first
    deadline = budget.deadline if budget is not None and out_of_time else own
    cpu_left = PROBE_SECONDS
    slow = (
        f"the pattern backtracks catastrophically (over {PROBE_SECONDS:g}s on a test input of "
        f"{PROBE_LENGTH:,} characters); simplify it"
    )
    for text in probe_inputs(source):
        wall_left = deadline - time.monotonic()
        if wall_left <= 0 or cpu_left <= 0:
            return slow if cpu_left <= 0 or not out_of_time else _RAN_OUT
        future: Future[float] = _executor().submit(_probe_one, pattern, text, cpu_left)
        try:
            cpu_left -= future.result(timeout=wall_left)
        except TimeoutError:  # concurrent.futures' and regex's are both the built-in TimeoutError
            if future.done():
                return slow  # regex's own timeout: the processor time is spent
            future.cancel()  # waited the wall-clock time out; the search stops at its own bound
            return _RAN_OUT if out_of_time else slow
    return None if cpu_left > 0 else slow


_RAN_OUT = "not checked: the deploy's time for checking patterns ran out (use fewer or simpler patterns)"


def sources_in_schema(schema: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """(JSON pointer, pattern) of every ``pattern`` and ``patternProperties`` key in a JSON Schema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            here = f"{path}/{key}"
            if key == "pattern" and isinstance(value, str):
                yield here, value
            elif key == "patternProperties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield f"{here}/{name}", name
                    yield from sources_in_schema(sub, f"{here}/{name}")
            else:
                yield from sources_in_schema(value, here)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from sources_in_schema(item, f"{path}/{index}")
