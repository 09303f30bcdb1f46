"""Audit pages: a review's trace (diagram, timeline, exports) and the timescale report with charts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _

from cprflow import access, reports, services, trace
from cprflow.errors import InvalidData, NotFound
from cprflow.repository import Database
from cprflow.users import UserView
from cprflow.web.pages import _LoginRequired, _signed_in

bp = Blueprint("audit", __name__)


def _db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


@bp.errorhandler(_LoginRequired)
def _to_login(err: Exception) -> Any:
    from cprflow.web.pages import _to_login as pages_login

    return pages_login(err)


@bp.errorhandler(NotFound)
def _not_found(_err: NotFound) -> Any:
    return render_template("message.html", title=_("Not found"), message=_("There is nothing here you may see.")), 404


@bp.errorhandler(InvalidData)
def _bad_filter(err: InvalidData) -> Any:
    details = "; ".join(f"{p}: {', '.join(m)}" for p, m in err.fields.items()) or err.message
    return render_template("message.html", title=_("Check the filters"), message=details), 422


def _readable(user: UserView, instance_id: int) -> services.InstanceView:
    if instance_id > 2**31 - 1:
        raise NotFound(str(instance_id))
    view = services.get_instance(_db(), instance_id)
    if not access.can_read_case(user.actor, services.permissions(_db(), view.version_id), view.data):
        raise NotFound(str(instance_id))
    return view


def _trace(instance_id: int, what: str) -> tuple[trace.Trace, str | None]:
    user = _signed_in()
    _readable(user, instance_id)
    found = trace.build(_db(), instance_id, trace.Filters.parse(request.args.to_dict()))
    services.record_read(_db(), instance_id, actor=user.username, now=_now(), what=what)
    return found


@bp.get("/reviews/<int:instance_id>/trace")
def review_trace(instance_id: int) -> Any:
    found, xml = _trace(instance_id, "trace page")
    labels = {"completed": _("Completed"), "active": _("Active"), "waiting": _("Waiting"), "held": _("Held")}
    counts = {state: sum(1 for s in found.markers.values() if s == state) for state in labels}
    return render_template(
        "trace.html",
        trace=found,
        has_diagram=xml is not None,
        labels=labels,
        counts=counts,
        markers_json=json.dumps({"markers": found.markers, "path": found.path}),
        filters=request.args.to_dict(),
        query=request.query_string.decode(),
    )


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


def _report() -> tuple[date, list[reports.ReviewTimescales], list[reports.GroupTimescales]]:
    user = _signed_in()
    text = (request.args.get("as_of") or "").strip()
    try:
        as_of = date.fromisoformat(text) if text else _now().date()
    except ValueError:
        raise InvalidData("as_of must be a date", fields={"/as_of": ["must be a date, YYYY-MM-DD"]}) from None
    rows = reports.per_review(
        _db(),
        as_of=as_of,
        readable=lambda version_id, data: access.can_read_case(
            user.actor, services.permissions(_db(), version_id), data
        ),
    )
    return as_of, rows, reports.by_board_and_year(rows)


@bp.get("/reports/timescales")
def timescales() -> Any:
    as_of, rows, groups = _report()
    labelled = [(f"{g.board} {g.year or ''}".strip(), g) for g in groups]
    charts = [
        reports.bar_chart(
            _("Breach rate of the 6-month timescale, by Board and year"),
            [(label, (g.breach_rate or 0) * 100) for label, g in labelled],
            fmt=lambda v: f"{v:.0f}%",
        ),
        reports.bar_chart(
            _("Average days from referral to completion, by Board and year"),
            [(label, g.average_elapsed_days or 0) for label, g in labelled],
            target=183,
            target_label=_("6 months"),
        ),
    ]
    hold_types = sorted({t for r in rows for t in r.hold_days})
    return render_template(
        "timescales.html", as_of=as_of, rows=rows, groups=groups, charts=charts, hold_types=hold_types
    )


@bp.get("/reports/timescales.csv")
def timescales_csv() -> Any:
    as_of, rows, groups = _report()
    table = request.args.get("table", "reviews")
    if table == "groups":
        body, name = reports.to_csv(groups, reports.GROUP_COLUMNS), "timescales-by-board-and-year"
    else:
        body, name = reports.to_csv(rows, reports.REVIEW_COLUMNS), "timescales-per-review"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}-{as_of.isoformat()}.csv"},
    )
