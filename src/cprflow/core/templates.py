"""Text templates written by process owners (notification emails, letters): Jinja2's sandbox, bounded.

The sandbox stops templates reaching Python's internals, but not using the machine: a template could
build 30 million characters (``{{ "x" * 30000000 }}``), loop 1,500 x 1,500 times, or double a
string in a loop until memory runs out, and the deploy check renders every template. So rendering
here is bounded in four ways, at deploy and when a message or letter is made:

* ``range`` gives at most MAX_RANGE items (Jinja's own sandbox allows 100,000);
* ``*``, ``**`` and ``+`` refuse results over the diagram sandbox's sizes (``expressions``);
* the text made may be at most MAX_CHARS characters, counted as it is made;
* rendering stops after RENDER_SECONDS of the rendering thread's processor time (the template's
  own code is traced, as diagram code is; processor time, not wall clock, so that a busy machine
  does not refuse a shipped template that renders in milliseconds) and may grow the process by at most the engine step's memory (CPRFLOW_STEP_MEMORY_MB).

Any of these fails the render with a ``SecurityError`` (a Jinja ``TemplateError``), which callers
already report as a broken template.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from cprflow.core import expressions
from cprflow.core.errors import ExpressionError

#: Most items ``range`` gives a template.
MAX_RANGE = 1000
#: Most characters one render may make.
MAX_CHARS = 200_000
#: Most processor time one render may take (seconds of the rendering thread's CPU time).
RENDER_SECONDS = 1.0
_FILENAME = "<template>"  # what Jinja names the code of a template made from a string


def _range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_RANGE:
        raise SecurityError(f"range() in a template may give at most {MAX_RANGE:,} items")
    return made


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja2's sandbox, with a small ``range`` and size checks on ``*``, ``**`` and ``+``."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        options.setdefault("undefined", StrictUndefined)
        super().__init__(**options)
        self.globals["range"] = _range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        try:
            expressions.check_binop(operator, left, right)
        except ExpressionError as err:
            raise SecurityError(err.message.replace("diagram code", "the template")) from None
        return super().call_binop(context, operator, left, right)


@contextmanager
def _time_bound(deadline: float) -> Iterator[None]:
    def local(frame: Any, event: str, arg: Any) -> Any:
        if time.thread_time() > deadline:
            raise SecurityError(f"the template took longer than {RENDER_SECONDS:g}s to render")
        return local

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == _FILENAME else None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        yield
    finally:
        sys.settrace(previous)


def render(template: Template, context: dict[str, Any]) -> str:
    """The template's text for ``context``, within the bounds above, or SecurityError."""
    made: list[str] = []
    size = 0
    try:
        with expressions.memory_bound(), _time_bound(time.thread_time() + RENDER_SECONDS):
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_CHARS:
                    raise SecurityError(f"the template would make more than {MAX_CHARS:,} characters")
                made.append(chunk)
    except MemoryError:
        raise SecurityError("the template needed more memory than a render may use") from None
    return "".join(made)
