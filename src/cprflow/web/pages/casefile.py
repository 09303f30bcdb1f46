"""What the case page shows, worked out from the case data the diagrams keep: the identity bar's facts
and each timescale's state (met, missed, paused, not started). Reading only: nothing here decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cprflow.core import register as reg
from cprflow.core.views import InstanceView, holds_of
from cprflow.web.dates import govuk_date

#: The dates the diagrams compute (processes/README.md, "Timescales"), each with the data key that
#: records it was met and its name. A due date the case does not yet have has not started.
TIMESCALES = (
    ("completion_due", "completion_date", _l("Review completed (6 months from referral)")),
    ("notification_due", "date_notified", _l("Welsh Government notified")),
    ("panel_setup_due", "panel_established_date", _l("Review Panel set up")),
    ("learning_event_due", "learning_event_date", _l("Practitioner learning event held")),
    ("action_plan_due", "finalised_date", _l("Action plan finalised (4 weeks from the final report)")),
)
CLOSED = ("completed", "terminated")


@dataclass(frozen=True)
class Timescale:
    name: str
    due: str | None
    state: str  # met, missed, overdue, paused, open, not_started, not_met
    text: str


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def timescales(view: InstanceView, today: date) -> list[Timescale]:
    rows = []
    paused = view.status == "suspended"
    for due_key, done_key, name in TIMESCALES:
        due, done = _day(view.data.get(due_key)), _day(view.data.get(done_key))
        if due is None:
            rows.append(Timescale(str(name), None, "not_started", _("Not started")))
        elif done is not None:
            late = (done - due).days
            if late > 0:
                text = _("Missed by %(n)s days (met on %(date)s)", n=late, date=govuk_date(done))
                rows.append(Timescale(str(name), due.isoformat(), "missed", text))
            else:
                rows.append(Timescale(str(name), due.isoformat(), "met", _("Met on %(date)s", date=govuk_date(done))))
        elif view.status in CLOSED:
            rows.append(Timescale(str(name), due.isoformat(), "not_met", _("Not met: the case is closed")))
        elif paused:
            rows.append(Timescale(str(name), due.isoformat(), "paused", _("Paused: the case is suspended")))
        elif due < today:
            text = _("Missed by %(n)s days so far", n=(today - due).days)
            rows.append(Timescale(str(name), due.isoformat(), "overdue", text))
        else:
            text = _("Due in %(n)s days", n=(due - today).days)
            rows.append(Timescale(str(name), due.isoformat(), "open", text))
    return rows


@dataclass(frozen=True)
class ClockStop:
    event: str  # the id processes/cpr_completion_clock.dmn answers (completion_stops_at)
    stopped_on: str | None  # the day that event happened, once it has


def clock_stop(view: InstanceView) -> ClockStop | None:
    """Which event stops the 6-month clock (decided by the diagrams as the review starts) and, once it
    has happened, the event that stopped it and its date."""
    stopped_by, day = view.data.get("completion_stopped_by"), _day(view.data.get("completion_date"))
    if stopped_by and day:
        return ClockStop(str(stopped_by), day.isoformat())
    stops_at = view.data.get("completion_stops_at")
    return ClockStop(str(stops_at), None) if stops_at else None


def identity(view: InstanceView, today: date) -> dict[str, Any]:
    data = view.data
    referral = _day(data.get("referral_date"))
    return {
        "reference": reg.reference_of(data) or _("Review #%(id)s", id=view.id),
        "process_id": view.process_id,
        "review_type": data.get("review_type"),
        "board": data.get("board_area"),
        "status": view.status,
        "stage": data.get("stage"),
        "days": (today - referral).days if referral else None,
        "overdue": reg.overdue(view.status, data, today),
        "holds_running": reg.holds_running(data),
        "closed": view.status in CLOSED,
        "outcome": data.get("route") if view.status in CLOSED else None,
    }


def holds(view: InstanceView) -> list[dict[str, Any]]:
    return holds_of(view.data)


def decisions(view: InstanceView) -> list[tuple[str, Any]]:
    """The decisions the case records (processes/README.md, "Case data"), in the order they are made."""
    keys = (
        ("review_type_reason", _l("Why this review type")),
        ("decision", _l("Board decision")),
        ("decision_rationale", _l("Reasons for the decision")),
        ("decision_date", _l("Date of decision")),
        ("susr_decision", _l("SUSR decision")),
        ("board_decision", _l("Board's decision on the report")),
        ("final_report_approved_date", _l("Final report approved on")),
        ("route", _l("Route")),
    )
    return [
        (str(name), govuk_date(view.data[key]) if key.endswith("_date") else view.data[key])
        for key, name in keys
        if view.data.get(key) not in (None, "", [])
    ]
