"""Diagram expressions as a process owner writing them meets them: date helpers, what the sandbox
refuses (with a message that says why), and scripts that hand back only the data they assign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cprflow.core import expressions
from cprflow.core.errors import ExpressionError, StepTimeout
from cprflow.core.expressions import (
    add_duration,
    add_working_days,
    check_expression,
    days_between,
    evaluate,
    execute,
    timer_at,
    working_days_between,
)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        ("2026-01-31", "P1M", "2026-02-28"),  # no 31 February: the month's last day
        ("2024-01-31", "P1M", "2024-02-29"),  # a leap year
        ("2024-02-29", "P1Y", "2025-02-28"),
        ("2026-08-31", "P6M", "2027-02-28"),  # the six-month review period from a month end
        ("2026-12-31", "P1M", "2027-01-31"),  # over the year end
        ("2026-03-02", "P2W", "2026-03-16"),
        ("2026-03-02", "P1M2D", "2026-04-04"),
        ("2026-03-02", "p1m", "2026-04-02"),
    ],
)
def test_add_duration_is_calendar_arithmetic(start: str, duration: str, due: str) -> None:
    assert add_duration(start, duration) == due


def test_add_duration_keeps_a_datetime_and_its_offset() -> None:
    assert add_duration("2026-01-31T10:00:00+01:00", "P1M") == "2026-02-28T10:00:00+01:00"
    assert add_duration("2026-01-31T10:00:00", "PT36H") == "2026-02-01T22:00:00+00:00"  # naive means UTC


@pytest.mark.parametrize("duration", ["6M", "P-1M", "P1D2", "PXD", "P1H", "P", "PT", "P1DT", "P1.5M", "P0.5Y", None, 6])
def test_add_duration_refuses_what_is_not_an_iso_duration(duration: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        add_duration("2026-03-02", duration)  # type: ignore[arg-type]


@pytest.mark.parametrize("when", ["2026-3-2", "next week", 20260302, None])
def test_dates_must_be_iso(when: object) -> None:
    with pytest.raises(ValueError):
        add_duration(when, "P1D")


def test_days_between_counts_calendar_days_either_way() -> None:
    assert days_between("2026-03-01", "2026-03-04") == 3
    assert days_between("2026-03-04", "2026-03-01") == -3
    assert days_between("2026-01-01T23:00:00+00:00", "2026-01-02") == 1  # a datetime counts as its day
    assert days_between("2026-02-28", "2026-02-28") == 0


def test_working_days_skip_weekends_and_wales_bank_holidays() -> None:
    assert add_working_days("2026-04-02", 1) == "2026-04-07"  # Good Friday, the weekend, Easter Monday
    assert add_working_days("2026-12-24", 2) == "2026-12-30"  # Christmas, Boxing Day (observed on the 28th)
    assert add_working_days("2026-04-07", -1) == "2026-04-02"
    assert working_days_between("2026-04-02", "2026-04-07") == 1
    assert working_days_between("2026-04-07", "2026-04-02") == -1
    assert evaluate("add_working_days(d, 5)", {"d": "2026-05-01"}) == "2026-05-11"  # 4 May is May Day


def test_add_working_days_needs_a_whole_number() -> None:
    for days in (True, 1.5, "3", 10**6):
        with pytest.raises(ValueError, match="whole number of working days"):
            add_working_days("2026-03-02", days)  # type: ignore[arg-type]
    assert add_working_days("2026-03-07", 0) == "2026-03-07"  # no days: the day itself, even a Saturday


def test_timer_at_is_utc_and_a_date_means_midnight() -> None:
    assert timer_at("2026-03-02") == "2026-03-02T00:00:00+00:00"
    assert timer_at("2026-07-01T10:00:00+01:00") == "2026-07-01T09:00:00+00:00"


def test_today_and_now_read_the_engine_clock() -> None:
    moment = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    with expressions.engine_context(moment, step_seconds=5):
        assert evaluate("today()", {}) == "2026-02-28"
        assert evaluate("add_duration(today(), 'P1D')", {}) == "2026-03-01"
        assert evaluate("now()", {}) == moment.isoformat()


def test_the_engine_clock_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        with expressions.engine_context(datetime(2026, 3, 2), step_seconds=5):
            pass  # pragma: no cover


def test_expressions_read_task_data_including_unicode() -> None:
    assert evaluate("name + ' ' + str(len(agencies))", {"name": "Siân Jên", "agencies": ["police", "health"]}) == (
        "Siân Jên 2"
    )
    assert evaluate("risk_score >= 7 and not child_under_five", {"risk_score": 9, "child_under_five": False})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import os", "imports are not allowed"),
        ("from os import path", "imports are not allowed"),
        ("x = open('/etc/passwd')", "'open' is not allowed"),
        ("x = getattr(y, 'a')", "'getattr' is not allowed"),
        ("x = type(y)", "'type' is not allowed"),
        ("x = y.__class__", '"__class__" is an invalid attribute name'),
        ("x = ().__class__.__mro__", '"__mro__" is an invalid attribute name'),
        ("_binop_ = None", '"_binop_" is an invalid variable name'),
        ("while True:\n    pass", "an endless loop"),
        ("x = 'a' * 10**8", "more than the sandbox allows"),
        ("x = 10 ** 10 ** 10", "an integer over a million bits"),
    ],
)
def test_the_sandbox_refuses_at_deploy_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as refused:
        check_expression(text, "exec")
    assert refused.value.code == "expression_refused"


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(ExpressionError, match="syntax error") as refused:
        check_expression("x = 1\ny = (\n", "exec")
    assert refused.value.line is not None and refused.value.line >= 2


@pytest.mark.parametrize(
    "text",
    ["(" * 100_000 + "1" + ")" * 100_000, "1" + "+1" * 200_000, "[" * 5_000 + "]" * 5_000],
)
def test_huge_nesting_is_refused_not_a_crash(text: str) -> None:
    with pytest.raises(ExpressionError):
        check_expression(text)


def test_while_true_with_a_break_is_allowed() -> None:
    context: dict[str, object] = {}
    execute("n = 0\nwhile True:\n    n += 1\n    if n == 3:\n        break", context)
    assert context == {"n": 3}


def test_a_loop_that_runs_past_the_step_bound_is_stopped() -> None:
    with expressions.engine_context(datetime(2026, 3, 2, tzinfo=UTC), step_seconds=0.2):
        with pytest.raises(StepTimeout):
            execute("n = 0\nwhile n >= 0:\n    n += 1", {})


def test_execute_hands_back_only_the_data_a_script_assigns() -> None:
    context = {"referral_date": "2026-01-31"}
    execute("due = add_duration(referral_date, 'P1M')\ncount = len([1, 2])", context)
    assert context == {"referral_date": "2026-01-31", "due": "2026-02-28", "count": 2}


def test_task_data_may_not_shadow_the_helpers() -> None:
    context = {"today": "2026-03-02", "x": 1}
    with pytest.raises(ExpressionError, match="reserved names: today"):
        execute("y = x", context)
    assert context == {"today": "2026-03-02", "x": 1}  # nothing was run or added


def test_str_format_cannot_reach_attributes() -> None:
    with pytest.raises(NotImplementedError):
        evaluate("'{0.__class__}'.format(1)", {})
