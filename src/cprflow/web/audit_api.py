"""The audit API: verify the event chains, a review's trace, data fixes and retries, the timescale report."""

from __future__ import annotations

from datetime import date
from typing import Any

from cprflow import access, audit, datafix, reports, schemas, services, trace
from cprflow.web.api import (
    _admin_action,
    _body,
    _db,
    _dump,
    _instance_out,
    _known_id,
    _now,
    _query,
    _readable_instance,
    bp,
)
from cprflow.web.auth import current_user, require_role
from cprflow.web.openapi import route


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
    instance_id = _query(schemas.VerifyQuery).get("instance")
    return _dump(schemas.VerifyOut, audit.verify_log(_db(), instance_id=instance_id))


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
    query = _query(schemas.TraceQuery)
    _readable_instance(user, instance_id)
    found, _ = trace.build(
        _db(), instance_id, trace.Filters(query.get("kind"), query.get("actor"), query.get("since"), query.get("until"))
    )
    services.record_read(_db(), instance_id, actor=user.username, now=_now(), what="trace")
    return _dump(schemas.TraceOut, trace.as_json(found))


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
    return _admin_action("retry", instance_id)


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
    body = _body(schemas.DataFixRequest)
    _known_id(instance_id)
    view = datafix.fix_data(_db(), instance_id, body["values"], reason=body["reason"], actor=user.username, now=_now())
    return _dump(schemas.InstanceOut, _instance_out(view))


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
    as_of: date = _query(schemas.TimescaleQuery).get("as_of") or _now().date()
    rows = reports.per_review(
        _db(),
        as_of=as_of,
        readable=lambda version_id, data: access.can_read_case(
            user.actor, services.permissions(_db(), version_id), data
        ),
    )
    return _dump(
        schemas.TimescaleReportOut, {"as_of": as_of, "reviews": rows, "groups": reports.by_board_and_year(rows)}
    )
