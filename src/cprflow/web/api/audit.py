"""The audit API: verify the event chains, a review's trace, data fixes and retries, the timescale report."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint

from cprflow import services
from cprflow.db import audit
from cprflow.features import timescales, trace
from cprflow.services import datafix
from cprflow.web import schemas
from cprflow.web.auth import current_user, require_role
from cprflow.web.common import body, db, dump, instance_out, known_id, now, query
from cprflow.web.openapi import route

bp = Blueprint("audit", __name__)


@route(
    bp,
    "/audit/verify",
    "GET",
    "Walk the tamper-evident event chains: the first bad event of each (auditors, admins)",
    query=schemas.VerifyQuery,
    response=schemas.VerifyOut,
    errors=(403,),
)
def verify_events() -> Any:
    user = current_user()
    require_role(user, "auditor", "admin")
    instance_id = query(schemas.VerifyQuery).get("instance")
    return dump(schemas.VerifyOut, audit.verify_log(db(), instance_id=instance_id))


@route(
    bp,
    "/instances/<int:instance_id>/trace",
    "GET",
    "A review's trace: diagram markers, path taken, holds and the filtered timeline",
    query=schemas.TraceQuery,
    response=schemas.TraceOut,
    errors=(404,),
)
def get_trace(instance_id: int) -> Any:
    user = current_user()
    asked = query(schemas.TraceQuery)
    known_id(instance_id)
    found, _ = trace.build(
        db(),
        instance_id,
        trace.Filters(asked.get("kind"), asked.get("actor"), asked.get("since"), asked.get("until")),
        actor=user.actor,
    )
    services.record_read(db(), instance_id, actor=user.username, now=now(), what="trace")
    return dump(schemas.TraceOut, trace.as_json(found))


@route(
    bp,
    "/instances/<int:instance_id>/retry",
    "POST",
    "Retry an instance after an error (admins; reason recorded)",
    body=schemas.ReasonRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def retry(instance_id: int) -> Any:
    user = current_user()
    reason = body(schemas.ReasonRequest)["reason"]
    known_id(instance_id)
    view = services.set_status(db(), instance_id, "retry", reason=reason, actor=user.actor, now=now())
    return dump(schemas.InstanceOut, instance_out(view))


@route(
    bp,
    "/instances/<int:instance_id>/data-fix",
    "POST",
    "Set named data keys of a case, checked against its forms (admins; reason recorded)",
    body=schemas.DataFixRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def data_fix(instance_id: int) -> Any:
    user = current_user()
    require_role(user, "admin")
    given = body(schemas.DataFixRequest)
    known_id(instance_id)
    view = datafix.fix_data(db(), instance_id, given["values"], reason=given["reason"], actor=user.username, now=now())
    return dump(schemas.InstanceOut, instance_out(view))


@route(
    bp,
    "/reports/timescales",
    "GET",
    "Statutory timescales per review you may read, and by Board and year",
    query=schemas.TimescaleQuery,
    response=schemas.TimescaleReportOut,
)
def timescale_report() -> Any:
    user = current_user()
    as_of: date = query(schemas.TimescaleQuery).get("as_of") or now().date()
    rows = timescales.per_review(db(), as_of=as_of, actor=user.actor)
    return dump(
        schemas.TimescaleReportOut, {"as_of": as_of, "reviews": rows, "groups": timescales.by_board_and_year(rows)}
    )
