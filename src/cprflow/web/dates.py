"""Dates and times as GOV.UK writes them, in the reader's language: "2 April 2026" ("2 Ebrill 2026"),
and "2 April 2026 at 2:15pm" where the time matters (audit, the trace, the case's timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import session
from flask_babel import format_date

from cprflow.core.expressions import WALES, day_of


def govuk_date(value: Any) -> str:
    """A date (a date, a datetime or an ISO date string) as "2 April 2026"; anything else as it is."""
    day = day_of(value)
    if day is None:
        return "" if value is None else str(value)
    return str(format_date(day, "d MMMM yyyy"))


def govuk_datetime(value: Any) -> str:
    """A moment as "2 April 2026 at 2:15pm" (Welsh "2 Ebrill 2026 am 2:15yh"), in Wales's time;
    "10am" on the hour, "12pm" at midday."""
    if not isinstance(value, datetime):
        return govuk_date(value)
    local = value.astimezone(WALES) if value.tzinfo else value
    welsh = session.get("lang", "en") == "cy"
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d}" if local.minute else str(hour)
    half = ("yb" if welsh else "am") if local.hour < 12 else ("yh" if welsh else "pm")
    return f"{govuk_date(local)} {'am' if welsh else 'at'} {clock}{half}"
