"""The API of tasks: the ones you may act on, one with its form, claim, draft and complete.

Who may act is decided by the use cases (``services.guards``) before anything else is said about a
task or its case: someone who may not read the case gets 404 whether or not the task exists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from cprflow import services
from cprflow.web import schemas
from cprflow.web.auth import current_user
from cprflow.web.common import body, db, dump, fields_within, instance_out, known_task, now, query, step_seconds
from cprflow.web.openapi import route

bp = Blueprint("tasks", __name__)


@route(bp, "/tasks", "GET", "Ready tasks you may act on", query=schemas.TaskQuery, response=schemas.TaskList)
def list_tasks() -> Any:
    user = current_user()
    asked = query(schemas.TaskQuery)
    found = services.list_tasks(db(), actor=user.actor, lane=asked.get("lane"), instance_id=asked.get("instance"))
    return dump(schemas.TaskList, {"tasks": found})


@route(
    bp,
    "/tasks/<task_id>",
    "GET",
    "A task with its form schema, UI schema and current data",
    response=schemas.TaskDetailOut,
    errors=(403, 404, 409),
)
def get_task(task_id: str) -> Any:
    user = current_user()
    known_task(task_id)
    return dump(schemas.TaskDetailOut, services.read_task(db(), task_id, actor=user.actor, now=now(), form_only=True))


@route(bp, "/tasks/<task_id>/claim", "POST", "Claim a task", response=schemas.TaskOut, errors=(403, 404, 409))
def claim(task_id: str) -> Any:
    user = current_user()
    known_task(task_id)
    return dump(schemas.TaskOut, services.claim_task(db(), task_id, actor=user.actor, now=now()))


@route(
    bp, "/tasks/<task_id>/unclaim", "POST", "Give a claimed task back", response=schemas.TaskOut, errors=(403, 404, 409)
)
def unclaim(task_id: str) -> Any:
    user = current_user()
    known_task(task_id)
    return dump(schemas.TaskOut, services.claim_task(db(), task_id, actor=user.actor, now=now(), release=True))


@route(
    bp,
    "/tasks/<task_id>/draft",
    "POST",
    "Save unfinished form data on a task",
    body=schemas.DataRequest,
    response=schemas.TaskOut,
    errors=(403, 404, 409),
)
def draft(task_id: str) -> Any:
    user = current_user()
    data = body(schemas.DataRequest)["data"]
    known_task(task_id)
    with fields_within("data"):
        saved = services.save_draft(db(), task_id, data, actor=user.actor, now=now())
    return dump(schemas.TaskOut, saved)


@route(
    bp,
    "/tasks/<task_id>/complete",
    "POST",
    "Complete a task with its form data",
    body=schemas.DataRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def complete(task_id: str) -> Any:
    user = current_user()
    data = body(schemas.DataRequest)["data"]
    known_task(task_id)
    with fields_within("data"):
        view = services.complete_task(db(), task_id, data, actor=user.actor, now=now(), step_seconds=step_seconds())
    return dump(schemas.InstanceOut, instance_out(view))
