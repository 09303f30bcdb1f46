"""Process owners' text templates: the render bound counts the template's work, not the machine's load."""

from __future__ import annotations

import time

import pytest
from jinja2.exceptions import SecurityError

from cprflow.core import templates


def _render(body: str, **context: object) -> str:
    return templates.render(templates.BoundedEnvironment().from_string(body), context)


def test_a_template_that_keeps_the_processor_busy_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "RENDER_SECONDS", 0.2)
    busy = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}done"

    with pytest.raises(SecurityError, match="took longer than 0.2s"):
        _render(busy)


def test_time_the_renderer_spends_waiting_on_a_busy_machine_is_not_held_against_the_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shared CI machine can leave the rendering thread waiting for a processor; the shipped
    # statutory-breach email was refused at deploy that way. Waiting stands in for it here.
    monkeypatch.setattr(templates, "RENDER_SECONDS", 0.2)

    def waits() -> str:
        time.sleep(0.4)
        return "the Board"

    assert (
        _render("Dear {{ waits() }}, {% for i in range(3) %}{{ i }}{% endfor %}", waits=waits) == "Dear the Board, 012"
    )
