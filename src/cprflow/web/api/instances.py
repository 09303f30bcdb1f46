"""The API of instances: start one, list and read them, send one a message, suspend, resume or
terminate one, read its events. Each view loads, calls a use case as the caller, and dumps."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from cprflow import services
from cprflow.web import schemas
from cprflow.web.auth import current_user
from cprflow.web.common import (
    PAGE_SIZE,
    body,
    db,
    dump,
    fields_within,
    instance_out,
    known_id,
    now,
    query,
    register_filters,
    step_seconds,
)
from cprflow.web.openapi import route

bp = Blueprint("instances", __name__)


@route(
    bp,
    "/instances",
    "POST",
    "Start a review or forum: `data` must fit the start form its diagram declares, if any",
    body=schemas.StartRequest,
    response=schemas.InstanceOut,
    status=201,
    errors=(403, 404),
)
def start_instance() -> Any:
    user = current_user()
    request_ = body(schemas.StartRequest)
    with fields_within("data"):
        view = services.start_instance(
            db(), request_["process"], request_["data"], actor=user.actor, now=now(), step_seconds=step_seconds()
        )
    return dump(schemas.InstanceOut, instance_out(view), 201)


@route(
    bp,
    "/instances",
    "GET",
    "Instances you may read: the reviews register's filters, sort and pages (filtered in the database)",
    query=schemas.InstanceQuery,
    response=schemas.InstancePage,
)
def list_instances() -> Any:
    user = current_user()
    asked = query(schemas.InstanceQuery)
    page = asked["page"]
    found, total = services.list_instances(
        db(), actor=user.actor, filters=register_filters(asked), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return dump(schemas.InstancePage, {"instances": [instance_out(i) for i in found], "total": total, "page": page})


@route(
    bp,
    "/instances/<int:instance_id>",
    "GET",
    "One instance: status, stage, open tasks, timescales, holds",
    response=schemas.InstanceOut,
    errors=(404,),
)
def get_instance(instance_id: int) -> Any:
    user = current_user()
    known_id(instance_id)
    view = services.get_instance(db(), instance_id, actor=user.actor)
    services.record_read(db(), instance_id, actor=user.username, now=now(), what="instance")
    return dump(schemas.InstanceOut, instance_out(view))


@route(
    bp,
    "/instances/<int:instance_id>/messages",
    "POST",
    "Send a message (e.g. a hold starting) into an instance",
    body=schemas.MessageRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def send_message(instance_id: int) -> Any:
    user = current_user()
    message = body(schemas.MessageRequest)
    known_id(instance_id)
    with fields_within("payload"):
        view = services.send_message(
            db(),
            instance_id,
            message["name"],
            message["payload"],
            actor=user.actor,
            now=now(),
            step_seconds=step_seconds(),
        )
    return dump(schemas.InstanceOut, instance_out(view))


def _admin_action(action: str, instance_id: int) -> Any:
    user = current_user()
    reason = body(schemas.ReasonRequest)["reason"]
    known_id(instance_id)
    view = services.set_status(db(), instance_id, action, reason=reason, actor=user.actor, now=now())
    return dump(schemas.InstanceOut, instance_out(view))


@route(
    bp,
    "/instances/<int:instance_id>/suspend",
    "POST",
    "Suspend an instance (admins; reason recorded)",
    body=schemas.ReasonRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def suspend(instance_id: int) -> Any:
    return _admin_action("suspend", instance_id)


@route(
    bp,
    "/instances/<int:instance_id>/resume",
    "POST",
    "Resume a suspended instance (admins; reason recorded)",
    body=schemas.ReasonRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def resume(instance_id: int) -> Any:
    return _admin_action("resume", instance_id)


@route(
    bp,
    "/instances/<int:instance_id>/terminate",
    "POST",
    "Terminate an instance (admins; reason recorded)",
    body=schemas.ReasonRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def terminate(instance_id: int) -> Any:
    return _admin_action("terminate", instance_id)


@route(
    bp,
    "/instances/<int:instance_id>/events",
    "GET",
    "The instance's trace, oldest first, paged",
    query=schemas.PageQuery,
    response=schemas.EventPage,
    errors=(404,),
)
def events(instance_id: int) -> Any:
    user = current_user()
    page = query(schemas.PageQuery)["page"]
    known_id(instance_id)
    found = services.list_events(db(), instance_id, actor=user.actor, limit=200, offset=(page - 1) * 200)
    services.record_read(db(), instance_id, actor=user.username, now=now(), what="events")
    return dump(schemas.EventPage, {"events": found, "page": page})
