"""Audit pages: a review's trace (diagram, timeline, exports) and the timescale report with charts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, session
from flask_babel import gettext as _

from cprflow import services
from cprflow.core.errors import InvalidData, NotFound
from cprflow.db import audit as audit_log
from cprflow.features import timescales, trace
from cprflow.web import dates
from cprflow.web.auth import require_role
from cprflow.web.common import db, known_id, now, signed_in
from cprflow.web.pages import casefile, events

bp = Blueprint("audit", __name__)


@bp.errorhandler(NotFound)
def _not_found(_err: NotFound) -> Any:
    return render_template("message.html", title=_("Not found"), message=_("There is nothing here you may see.")), 404


@bp.errorhandler(InvalidData)
def _bad_filter(err: InvalidData) -> Any:
    details = "; ".join(f"{p}: {', '.join(m)}" for p, m in err.fields.items()) or err.message
    return render_template("message.html", title=_("Check the filters"), message=details), 422


def _asked() -> dict[str, str]:
    """The trace's filters as asked, each date joined from its day, month and year boxes (or as a link gives it)."""
    asked = request.args.to_dict()
    for key in DATE_FILTERS:
        asked[key] = dates.date_arg(request.args.getlist(key))
    return {key: value for key, value in asked.items() if value}


DATE_FILTERS = ("since", "until")


def _trace(instance_id: int, what: str, asked: dict[str, str] | None = None) -> tuple[trace.Trace, str | None]:
    user = signed_in()
    known_id(instance_id)
    filters = trace.Filters.parse(_asked() if asked is None else asked)
    found = trace.build(db(), instance_id, filters, actor=user.actor)
    services.record_read(db(), instance_id, actor=user.username, now=now(), what=what)
    return found


@bp.get("/reviews/<int:instance_id>/trace")
def review_trace(instance_id: int) -> Any:
    asked, errors = _asked(), {}
    try:
        trace.Filters.parse(asked)
    except InvalidData as err:  # said beside the boxes; the timeline is shown without the filter at fault
        not_real = {"since": _("The ‘From’ date must be a real date"), "until": _("The ‘To’ date must be a real date")}
        for pointer in err.fields:
            key = pointer.lstrip("/")
            errors[key] = (
                not_real[key]
                if key in asked and not _is_date(asked[key])
                else _("The ‘To’ date must be the same as or after the ‘From’ date")
            )
    usable = {key: value for key, value in asked.items() if key not in errors}
    found, xml = _trace(instance_id, "trace page", usable)
    labels = {"completed": _("Completed"), "active": _("Active"), "waiting": _("Waiting"), "held": _("Held")}
    counts = {state: sum(1 for s in found.markers.values() if s == state) for state in labels}
    hold_schema = services.message_schema(db(), found.version_id, "hold_started")
    hold_types = dict(casefile.hold_choices(hold_schema, session.get("lang", "en"))[0])
    return render_template(
        "trace.html",
        trace=found,
        has_diagram=xml is not None,
        labels=labels,
        counts=counts,
        markers_json=json.dumps({"markers": found.markers, "path": found.path}),
        filters=asked,
        errors=errors,
        kind_options=[(k, events.kind_name(k)) for k in found.kinds],
        actor_options=[(a, a) for a in found.actors],
        query=urlencode(usable),
        describe=lambda e: events.title(e.kind, e.detail, found.version_id),
        hold_type_names=hold_types,
    ), (422 if errors else 200)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@bp.get("/reviews/<int:instance_id>/trace/diagram.bpmn")
def trace_diagram(instance_id: int) -> Any:
    found, xml = _trace(instance_id, "trace diagram")
    if xml is None:
        raise NotFound(str(instance_id))
    return Response(xml, mimetype="application/xml")


@bp.get("/reviews/<int:instance_id>/trace.json")
def trace_json(instance_id: int) -> Any:
    found, _xml = _trace(instance_id, "trace export (JSON)")
    return Response(
        json.dumps(trace.as_json(found), ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=review-{instance_id}-trace.json"},
    )


@bp.get("/reviews/<int:instance_id>/trace.csv")
def trace_csv(instance_id: int) -> Any:
    found, _xml = _trace(instance_id, "trace export (CSV)")
    return Response(
        trace.timeline_csv(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=review-{instance_id}-trace.csv"},
    )


def _as_of() -> date:
    """The report's "as at" date, joined from its day, month and year boxes (or as a link gives it); today when blank."""
    text = dates.date_arg(request.args.getlist("as_of"))
    if not text:
        return now().date()
    if not _is_date(text):
        raise InvalidData("as_of must be a date", fields={"/as_of": ["must be a date, YYYY-MM-DD"]})
    return date.fromisoformat(text)


def _report(as_of: date) -> tuple[list[timescales.ReviewTimescales], list[timescales.GroupTimescales]]:
    rows = timescales.per_review(db(), as_of=as_of, actor=signed_in().actor)
    return rows, timescales.by_board_and_year(rows)


@bp.get("/reports/timescales")
def timescale_report() -> Any:
    signed_in()
    typed, errors = dates.date_arg(request.args.getlist("as_of")), {}
    try:
        as_of = _as_of()
    except InvalidData:  # said beside the boxes; the report is shown as at today meanwhile
        as_of, errors = now().date(), {"as_of": _("The ‘As at’ date must be a real date")}
    rows, groups = _report(as_of)
    labelled = [(f"{g.board} {g.year or ''}".strip(), g) for g in groups]
    charts = [
        timescales.bar_chart(
            _("Breach rate of the 6-month timescale, by Board and year"),
            [(label, (g.breach_rate or 0) * 100) for label, g in labelled],
            fmt=lambda v: f"{v:.0f}%",
        ),
        timescales.bar_chart(
            _("Average days from referral to completion, by Board and year"),
            [(label, g.average_elapsed_days or 0) for label, g in labelled],
            target=183,
            target_label=_("6 months"),
        ),
    ]
    hold_types = sorted({t for r in rows for t in r.hold_days})
    return render_template(
        "timescales.html",
        as_of=as_of,
        typed=typed if errors else as_of.isoformat(),
        errors=errors,
        rows=rows,
        groups=groups,
        charts=charts,
        hold_types=hold_types,
    ), (422 if errors else 200)


@bp.get("/reports/timescales.csv")
def timescales_csv() -> Any:
    as_of = _as_of()
    rows, groups = _report(as_of)
    table = request.args.get("table", "reviews")
    if table == "groups":
        body, name = timescales.to_csv(groups, timescales.GROUP_COLUMNS), "timescales-by-board-and-year"
    else:
        body, name = timescales.to_csv(rows, timescales.REVIEW_COLUMNS), "timescales-per-review"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}-{as_of.isoformat()}.csv"},
    )


@bp.get("/audit/verify")
def verify_page() -> Any:
    """Check the tamper-evident event log from a page (auditors, administrators): each chain walked
    from its first event, and the first broken link of any that is broken."""
    user = signed_in()
    require_role(user, "auditor", "admin")
    report = audit_log.verify_log(db()) if request.args.get("run") else None
    broken = [
        {**b, "instance_id": int(b["chain"].split(":", 1)[1]) if b["chain"].startswith("instance:") else None}
        for b in (report or {}).get("broken", [])
    ]
    problems = {
        "edited": _("an event was changed after it was written"),
        "deleted": _("an event is missing"),
        "inserted": _("an event was added out of turn"),
        "reordered": _("events are out of order"),
    }
    return render_template("audit_verify.html", report=report, broken=broken, problems=problems)
