"""Deploy-time probes of process owners' patterns: refuse the ones that backtrack, not the ones a
busy machine happens to run slowly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cprflow.core import patterns


def test_a_pattern_that_backtracks_is_refused() -> None:
    pattern, problem = patterns.compile_checked("^(a|aa)+$")
    assert pattern is None and problem is not None and "backtracks catastrophically" in problem


def test_a_linear_pattern_whose_search_waits_for_a_processor_still_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a loaded CI machine the searching thread waits for a processor; the shipped "^F[0-9]+$" was
    # refused as backtracking after 0.25 s of wall clock. Waiting stands in for that load here.
    searched = patterns._probe_one

    def waits_then_searches(pattern: Any, text: str, cpu_seconds: float) -> float:
        time.sleep(0.05)
        return searched(pattern, text, cpu_seconds)

    monkeypatch.setattr(patterns, "_probe_one", waits_then_searches)
    assert len(patterns.probe_inputs("^F[0-9]+$")) * 0.05 > patterns.PROBE_SECONDS  # it waits longer than the bound

    pattern, problem = patterns.compile_checked("^F[0-9]+$")

    assert problem is None and pattern is not None and pattern.fullmatch("F12")


def test_the_wall_clock_backstop_still_stops_a_probe_that_never_gets_a_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(patterns, "PROBE_WALL_SECONDS", 0.2)
    monkeypatch.setattr(patterns, "_probe_one", lambda pattern, text, cpu_seconds: time.sleep(0.5) or 0.0)

    _, problem = patterns.compile_checked("^F[0-9]+$")

    assert problem is not None and "backtracks catastrophically" in problem
