"""What the case page shows, worked out from the case data the diagrams keep: the identity bar's facts
and each timescale's state (met, missed, paused, not started). Reading only: nothing here decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cprflow.core import document_fields, forms
from cprflow.core import register as reg
from cprflow.core.expressions import day_of
from cprflow.core.views import InstanceView, holds_of
from cprflow.web import labels
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


def timescales(view: InstanceView, today: date) -> list[Timescale]:
    rows = []
    paused = view.status == "suspended"
    for due_key, done_key, name in TIMESCALES:
        due, done = day_of(view.data.get(due_key)), day_of(view.data.get(done_key))
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
    stopped_by, day = view.data.get("completion_stopped_by"), day_of(view.data.get("completion_date"))
    if stopped_by and day:
        return ClockStop(str(stopped_by), day.isoformat())
    stops_at = view.data.get("completion_stops_at")
    return ClockStop(str(stops_at), None) if stops_at else None


def identity(view: InstanceView, today: date) -> dict[str, Any]:
    data = view.data
    referral = day_of(data.get("referral_date"))
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


def hold_choices(schema: dict[str, Any] | None, lang: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The kinds of proceedings and the parts of a review a hold may stop, each with its name in the
    reader's language, as the form of the diagrams' ``hold_started`` message offers them: a process
    owner adds a kind there, not here. Both lists are empty where the case's diagrams take no holds."""
    properties = (schema or {}).get("properties") or {}
    scope = properties.get("scope") or {}
    return _named(properties.get("type") or {}, lang), _named(scope.get("items") or {}, lang)


def _named(field: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    return [(value, cy if lang == "cy" and cy else en) for value, en, cy in _enum_names(field)]


def _enum_names(field: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(value, English name, Welsh name) of each choice a field offers; an unnamed one by its words."""
    names, names_cy = field.get("x-enumNames") or [], field.get("x-enumNames-cy") or []
    return [
        (
            str(value),
            str(names[n]) if n < len(names) and names[n] else str(value).replace("_", " ").capitalize(),
            str(names_cy[n]) if n < len(names_cy) and names_cy[n] else "",
        )
        for n, value in enumerate(field.get("enum") or [])
    ]


def decisions(
    view: InstanceView, lang: str = "en", choices: dict[str, dict[str, tuple[str, str]]] | None = None
) -> list[tuple[str, Any, bool]]:
    """The decisions the case records (processes/README.md, "Case data"), in the order they are made,
    each value in the reader's language: a value the diagrams keep in Welsh too (``key_cy``, as a
    decision table's ``review_type_reason_cy``) in Welsh, a choice by the name its form gives it
    (``choices``: key -> value -> English and Welsh name), a route by its name. The flag says the
    value is shown as it was entered (a date, the reasons someone wrote), in whatever language."""
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
    shown = []
    for key, name in keys:
        value = view.data.get(key)
        if value in (None, "", []):
            continue
        welsh = view.data.get(f"{key}_cy")
        named = (choices or {}).get(key, {}).get(str(value))
        typed = False
        if lang == "cy" and isinstance(welsh, str) and welsh:
            value = welsh
        elif key == "route":
            value = labels.label("route", value)
        elif named:
            value = named[1] if lang == "cy" and named[1] else named[0]
        elif key.endswith("_date"):
            value, typed = govuk_date(value), True
        else:  # words someone wrote; an id no form names stays unmarked, as the leftover it is
            typed = not re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", str(value))
        shown.append((str(name), value, typed))
    return shown


def choice_names(schemas: list[Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """Every choice the forms offer, by field name and value: its English and Welsh names."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for key, field in forms.fields(schemas):
        named = len(field.get("x-enumNames") or []) if isinstance(field.get("enum"), list) else 0
        for value, en, cy in _enum_names(field)[:named]:  # a choice its form leaves unnamed is not named here
            found.setdefault(key, {}).setdefault(value, (en, cy))
    return found


def slot_names(schemas: list[Any], agencies: list[dict[str, str]], lang: str) -> dict[str, str]:
    """Each document slot's name in the reader's language: the title of the form field that files it
    (its ``x-title-cy`` in Welsh; of several, an upload's plainest), with the agency's name for a slot
    of each agency's own."""
    found: dict[str, list[tuple[bool, str]]] = {}
    agency_names = {a["id"]: a["name_cy"] if lang == "cy" else a["name"] for a in agencies}
    for _name, field in forms.fields(schemas):
        spec = field.get(document_fields.KEY)
        title = field.get("x-title-cy" if lang == "cy" else "title") or field.get("title") if spec else None
        if isinstance(spec, dict) and isinstance(spec.get("slot"), str) and isinstance(title, str):
            found.setdefault(spec["slot"], []).append((bool(field.get("readOnly")), title))
    # The field that files the document names it best: not one showing it, and the plainest title.
    names = {slot: min(titles, key=lambda t: (t[0], len(t[1])))[1] for slot, titles in found.items()}
    for template, title in list(names.items()):
        if "{assignee}" in template:
            for agency, name in agency_names.items():
                names.setdefault(template.replace("{assignee}", agency), f"{title} ({name})")
    return names
