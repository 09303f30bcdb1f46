"""Dates and times as GOV.UK writes them, in the reader's language: "2 April 2026" ("2 Ebrill 2026"),
and "2 April 2026 at 2:15pm" where the time matters (audit, the trace, the case's timeline)."""

from __future__ import annotations

import re
from datetime import date, datetime
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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def from_parts(day: str, month: str, year: str) -> str | None:
    """Day, month and year as typed into a GOV.UK date input: the ISO date, or None if that is no real date."""
    parts = (day.strip(), month.strip(), year.strip())
    if (
        not all(p.isascii() and p.isdigit() for p in parts)
        or len(parts[2]) != 4
        or max(len(parts[0]), len(parts[1])) > 2
    ):
        return None
    iso = f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    try:
        date.fromisoformat(iso)
    except ValueError:
        return None
    return iso


def date_arg(values: list[str]) -> str:
    """A date filter as a page's date input sends it (day, month and year under one name) or as a
    link gives it (one ISO date): the ISO date, "" when left blank, else what was typed as
    year-month-day, which is no ISO date and so is refused by whoever reads it."""
    if len(values) != 3:
        return values[0].strip() if values else ""
    day, month, year = (v.strip() for v in values)
    if not (day or month or year):
        return ""
    return from_parts(day, month, year) or f"{year}-{month}-{day}"


def parts(value: Any) -> tuple[str, str, str]:
    """(day, month, year) to show in a date input: a stored date without leading zeros, or the parts as typed."""
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str) or value.count("-") != 2:
        return "", "", ""
    year, month, day = value.split("-")
    if _ISO_DATE.fullmatch(value):
        return day.lstrip("0"), month.lstrip("0"), year
    return day, month, year
