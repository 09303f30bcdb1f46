"""One date arithmetic for the diagrams' helpers and the engine's timers, due days that end in Wales,
and date fields that cannot name a day in the future or before the referral."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from cprflow import engine  # noqa: F401  (installs the shared arithmetic in SpiffWorkflow's timers)
from cprflow.core import expressions, forms
from cprflow.core.errors import InvalidData


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-01-31", "P1M", "2026-02-28"),
        ("2028-01-31", "P1M", "2028-02-29"),
        ("2025-08-31", "P6M", "2026-02-28"),
        ("2026-03-31", "P1M", "2026-04-30"),
        ("2026-01-05", "P6M", "2026-07-05"),
        ("2026-04-15", "P4W", "2026-05-13"),
        ("2024-02-29", "P1Y", "2025-02-28"),
    ],
)
def test_helpers_and_timers_agree_on_month_ends(start: str, duration: str, expected: str) -> None:
    assert expressions.add_duration(start, duration) == expected
    begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    assert (begin + TimerEventDefinition.get_timedelta_from_start(parsed, begin)).date().isoformat() == expected


def test_a_timer_counting_back_from_its_end_uses_the_same_months() -> None:
    end = datetime(2026, 3, 31, tzinfo=UTC)
    delta = TimerEventDefinition.get_timedelta_from_end(TimerEventDefinition.parse_iso_duration("P1M"), end)
    assert (end - delta).date() == date(2026, 2, 28)


@pytest.mark.parametrize("duration", ["P0.5M", "P1.5Y"])
def test_a_fraction_of_a_month_is_refused_by_helpers_and_timers(duration: str) -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        expressions.add_duration("2026-01-31", duration)
    with pytest.raises(ValueError, match="whole numbers"):
        TimerEventDefinition.parse_iso_duration(duration)


@pytest.mark.parametrize(
    ("day", "moment"),
    [
        ("2026-01-13", datetime(2026, 1, 14, 0, 0, tzinfo=UTC)),  # Greenwich Mean Time
        ("2026-07-05", datetime(2026, 7, 5, 23, 0, tzinfo=UTC)),  # British Summer Time
        ("2026-03-28", datetime(2026, 3, 29, 0, 0, tzinfo=UTC)),  # the clocks go forward at 01:00 after it
        ("2026-03-29", datetime(2026, 3, 29, 23, 0, tzinfo=UTC)),  # the first day of summer time
        ("2026-10-25", datetime(2026, 10, 26, 0, 0, tzinfo=UTC)),  # the clocks went back that morning
    ],
)
def test_a_due_day_ends_at_midnight_in_wales(day: str, moment: datetime) -> None:
    assert datetime.fromisoformat(expressions.timer_after_day(day)) == moment
    assert datetime.fromisoformat(expressions.timer_after_day(moment - timedelta(minutes=1))) == moment


SCHEMA = {
    "type": "object",
    "properties": {
        "met_on": {"type": "string", "format": "date", "x-not-after": "today", "x-not-before": "referral_date"},
        "noted": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("met_on", "fault"),
    [
        ("2026-04-21", "must be today or in the past"),
        ("2026-01-04", "must be on or after referral_date (2026-01-05)"),
    ],
)
def test_a_date_outside_its_bounds_is_refused_naming_the_field(met_on: str, fault: str) -> None:
    with pytest.raises(InvalidData) as refused:
        forms.validate(SCHEMA, {"met_on": met_on}, case={"referral_date": "2026-01-05"}, today=date(2026, 4, 20))
    assert refused.value.fields == {"/met_on": [fault]}


def test_a_date_within_its_bounds_passes() -> None:
    for day in ("2026-01-05", "2026-04-20"):
        forms.validate(SCHEMA, {"met_on": day}, case={"referral_date": "2026-01-05"}, today=date(2026, 4, 20))


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-07-01", date(2026, 7, 1)),
        ("2026-07-01T09:00:00+00:00", date(2026, 7, 1)),  # a stored string's date part, as written
        (date(2026, 7, 1), date(2026, 7, 1)),
        # 23:30 UTC on 30 June is 00:30 on 1 July in Wales (summer time): the day people there saw
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), date(2026, 12, 31)),  # winter: Wales is on UTC
        (datetime(2026, 6, 30, 23, 30), date(2026, 6, 30)),  # naive: taken as it is
        ("2026-02-31", None),
        ("1 July 2026", None),
        ("2026-07", None),
        ("", None),
        (None, None),
        (20260701, None),
        (["2026-07-01"], None),
    ],
)
def test_the_day_a_stored_value_names(value: object, day: date | None) -> None:
    """Case pages, the timescales report and date-field bounds all read a stored date this one way,
    and none of them raises on a value that names no day."""
    assert expressions.day_of(value) == day
