"""The JSON API: each view loads with marshmallow, checks access, calls a service, dumps the result."""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from cprflow import access, processes, schemas, services
from cprflow.errors import Forbidden, InvalidData, NotFound
from cprflow.repository import Database
from cprflow.users import UserView, authenticate
from cprflow.web.auth import current_user, issue_token, require_role
from cprflow.web.errors import MalformedRequest
from cprflow.web.openapi import route

bp = Blueprint("api", __name__, url_prefix="/api")
PAGE_SIZE = 50
#: Deepest nesting of objects and arrays a body may have; forms need a handful of levels.
MAX_DEPTH = 64
#: Largest id a row can have (PostgreSQL's integer); beyond it nothing can be found.
MAX_ID = 2**31 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


def _step() -> float:
    return float(current_app.config["CPRFLOW"].step_seconds)


def _body(schema: type[Schema]) -> Any:
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # the JSON parser's own limit on nesting; Flask's silent= does not catch it
        raise MalformedRequest(f"the body nests deeper than {MAX_DEPTH} levels") from None
    if not isinstance(payload, dict):
        raise MalformedRequest("the body must be a JSON object (Content-Type: application/json)")
    _check_storable(payload)
    return _schema(schema).load(payload)


@functools.cache
def _schema(schema: type[Schema]) -> Schema:
    """One instance per schema class: marshmallow schemas keep no per-call state, and building one
    walks its fields (a measurable part of a small request)."""
    return schema()


def _check_storable(payload: Any) -> None:
    """Refuse what the JSON parser lets through but cannot be stored or answered as JSON.

    Python's parser takes ``NaN``, ``Infinity`` and ``1e999`` (not JSON: the answer would not parse),
    NUL and unpaired surrogates in strings (PostgreSQL's JSONB refuses them) and any depth (the
    engine and serializers recurse). Each is named by its JSON pointer.
    """
    fields: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(payload, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedRequest(
                f"the body nests deeper than {MAX_DEPTH} levels", fields={pointer: ["nests too deeply"]}
            )
        if isinstance(value, float) and not math.isfinite(value):
            fields.setdefault(pointer, []).append("is not a finite number")
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            fields.setdefault(pointer, []).append("contains a NUL or an unpaired surrogate character")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
                if _UNSTORABLE.search(key):
                    fields.setdefault(child, []).append("the key contains a NUL or an unpaired surrogate character")
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(value))
    if fields:
        raise MalformedRequest("the body has values that are not storable JSON", fields=dict(sorted(fields.items())))


def _known_id(instance_id: int) -> None:
    if not 1 <= instance_id <= MAX_ID:
        raise NotFound(f"instance {instance_id} not found")


def _query(schema: type[Schema]) -> Any:
    args = request.args.to_dict()
    # PostgreSQL refuses NUL in any string it is given: a 422 naming the parameter, not a 500 there.
    bad = {key: ["contains a NUL character"] for key, value in args.items() if "\x00" in key + value}
    if bad:
        raise ValidationError(bad)
    return _schema(schema).load(args)


@contextlib.contextmanager
def _fields_within(key: str) -> Iterator[None]:
    """Services name fields inside the data they were given; the API names them inside the body."""
    try:
        yield
    except InvalidData as err:
        err.fields = {
            f"/{key}{pointer if pointer != '/' else ''}": messages for pointer, messages in err.fields.items()
        }
        raise


def _dump(schema: type[Schema], value: Any, status: int = 200) -> Any:
    return jsonify(_schema(schema).dump(value)), status


def _instance_out(view: services.InstanceView) -> dict[str, Any]:
    # stage, timescales and holds are data the diagrams keep under these names (processes/README.md).
    out = dict(vars(view))
    out.update(stage=view.data.get("stage"), timescales=view.data.get("timescales"), holds=view.data.get("holds"))
    return out


def _readable_instance(user: UserView, instance_id: int) -> services.InstanceView:
    _known_id(instance_id)
    view = services.get_instance(_db(), instance_id)
    if not access.can_read_case(user.actor, services.permissions(_db(), view.version_id), view.data):
        raise NotFound(f"instance {instance_id} not found")  # do not confirm that a case exists
    return view


def _check_workable(user: UserView, task_id: str) -> None:
    # Access first, whether the task is open or closed: someone who may not read the case must
    # not learn from a 409 that the task exists.
    _known_task(task_id)
    _may_work(user, task_id, services.task_access(_db(), task_id))


def _known_task(task_id: str) -> None:
    if "\x00" in task_id:  # no task has one, and PostgreSQL refuses to be asked
        raise NotFound(f"task {task_id!r} not found")


def _may_work(user: UserView, task_id: str, facts: services.TaskAccess) -> None:
    perms = services.permissions(_db(), facts.version_id)
    if not access.can_work(user.actor, perms, facts.lane, facts.assignee):
        if access.can_read_case(user.actor, perms, facts.instance_data):
            raise Forbidden("you may read this task but not act on it")
        raise NotFound(f"task {task_id} not found")


# ---------------------------------------------------------------------------------------------


@route(
    bp,
    "/auth/token",
    "POST",
    "Exchange a username and password for a bearer token",
    body=schemas.TokenRequest,
    response=schemas.TokenResponse,
    auth=False,
    errors=(400, 401),
)
def token() -> Any:
    credentials = _body(schemas.TokenRequest)
    settings = current_app.config["CPRFLOW"]
    user = authenticate(
        _db(),
        credentials["username"],
        credentials["password"],
        lockout_attempts=settings.lockout_attempts,
        lockout_minutes=settings.lockout_minutes,
    )
    issued, expires_at = issue_token(user)
    return _dump(schemas.TokenResponse, {"token": issued, "expires_at": expires_at})


@route(bp, "/processes", "GET", "The processes of the newest deployed version", response=schemas.ProcessList)
def list_processes() -> Any:
    current_user()
    versions = services.list_versions(_db())
    newest = versions[0] if versions else None
    return _dump(
        schemas.ProcessList,
        {"version_id": newest["id"] if newest else None, "processes": newest["processes"] if newest else []},
    )


@route(
    bp,
    "/processes/deploy",
    "POST",
    "Deploy uploaded diagrams, forms or permissions over the newest version",
    response=schemas.VersionOut,
    status=201,
    also_ok=(200,),
    multipart=True,
    errors=(400, 403, 413, 422),
)
def deploy() -> Any:
    user = current_user()
    require_role(user, "process_owner")
    uploads = request.files.getlist("files")
    if not uploads:
        raise MalformedRequest("upload one or more files in the multipart field 'files'")
    files = dict(services.newest_files(_db()))
    for upload in uploads:
        files[processes.upload_path(upload.filename or "")] = upload.read()
    result = services.deploy(_db(), processes.DiagramSet(files), actor=user.username, now=_now())
    return _dump(schemas.VersionOut, result, 201 if result.created else 200)


@route(
    bp,
    "/instances",
    "POST",
    "Start a review or forum",
    body=schemas.StartRequest,
    response=schemas.InstanceOut,
    status=201,
    errors=(403, 404),
)
def start_instance() -> Any:
    user = current_user()
    request_ = _body(schemas.StartRequest)
    if not access.can_start(user.actor, services.latest_permissions(_db(), request_["process"]), request_["process"]):
        raise Forbidden(f"your roles may not start '{request_['process']}'")
    with _fields_within("data"):
        view = services.start_instance(
            _db(), request_["process"], request_["data"], actor=user.username, now=_now(), step_seconds=_step()
        )
    return _dump(schemas.InstanceOut, _instance_out(view), 201)


@route(
    bp,
    "/instances",
    "GET",
    "Instances you may read, newest first",
    query=schemas.InstanceQuery,
    response=schemas.InstancePage,
)
def list_instances() -> Any:
    user = current_user()
    query = _query(schemas.InstanceQuery)
    found, _ = services.list_instances(_db(), status=query.get("status"), process_id=query.get("process"), limit=10_000)
    readable = [i for i in found if access.can_read_case(user.actor, services.permissions(_db(), i.version_id), i.data)]
    page = query["page"]
    chosen = readable[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return _dump(
        schemas.InstancePage, {"instances": [_instance_out(i) for i in chosen], "total": len(readable), "page": page}
    )


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
    view = _readable_instance(user, instance_id)
    services.record_read(_db(), instance_id, actor=user.username, now=_now(), what="instance")
    return _dump(schemas.InstanceOut, _instance_out(view))


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
    message = _body(schemas.MessageRequest)
    view = _readable_instance(user, instance_id)
    if not access.can_send(user.actor, services.permissions(_db(), view.version_id), message["name"]):
        raise Forbidden(f"your roles may not send '{message['name']}'")
    with _fields_within("payload"):
        view = services.send_message(
            _db(),
            instance_id,
            message["name"],
            message["payload"],
            actor=user.username,
            now=_now(),
            step_seconds=_step(),
        )
    return _dump(schemas.InstanceOut, _instance_out(view))


def _admin_action(action: str, instance_id: int) -> Any:
    user = current_user()
    require_role(user, "admin")
    reason = _body(schemas.ReasonRequest)["reason"]
    _known_id(instance_id)
    view = services.set_status(_db(), instance_id, action, reason=reason, actor=user.username, now=_now())
    return _dump(schemas.InstanceOut, _instance_out(view))


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
    page = _query(schemas.PageQuery)["page"]
    _readable_instance(user, instance_id)
    found = services.list_events(_db(), instance_id, limit=200, offset=(page - 1) * 200)
    services.record_read(_db(), instance_id, actor=user.username, now=_now(), what="events")
    return _dump(schemas.EventPage, {"events": found, "page": page})


@route(bp, "/tasks", "GET", "Ready tasks you may act on", query=schemas.TaskQuery, response=schemas.TaskList)
def list_tasks() -> Any:
    user = current_user()
    query = _query(schemas.TaskQuery)
    found = services.list_tasks(_db(), lane=query.get("lane"), instance_id=query.get("instance"))
    mine = [
        t
        for t in found
        if access.can_work(user.actor, services.permissions(_db(), t.version_id or 0), t.lane, t.assignee)
    ]
    return _dump(schemas.TaskList, {"tasks": mine})


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
    _check_workable(user, task_id)
    detail = services.get_task(_db(), task_id)
    services.record_read(_db(), detail.task.instance_id, actor=user.username, now=_now(), what=f"task {task_id}")
    return _dump(schemas.TaskDetailOut, detail)


@route(bp, "/tasks/<task_id>/claim", "POST", "Claim a task", response=schemas.TaskOut, errors=(403, 404, 409))
def claim(task_id: str) -> Any:
    user = current_user()
    _check_workable(user, task_id)
    return _dump(schemas.TaskOut, services.claim_task(_db(), task_id, actor=user.username, now=_now()))


@route(
    bp, "/tasks/<task_id>/unclaim", "POST", "Give a claimed task back", response=schemas.TaskOut, errors=(403, 404, 409)
)
def unclaim(task_id: str) -> Any:
    user = current_user()
    _check_workable(user, task_id)
    return _dump(schemas.TaskOut, services.claim_task(_db(), task_id, actor=user.username, now=_now(), release=True))


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
    data = _body(schemas.DataRequest)["data"]
    _check_workable(user, task_id)
    with _fields_within("data"):
        saved = services.save_draft(_db(), task_id, data, actor=user.username, now=_now())
    return _dump(schemas.TaskOut, saved)


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
    data = _body(schemas.DataRequest)["data"]
    _known_task(task_id)
    with _fields_within("data"):
        view = services.complete_task(
            _db(),
            task_id,
            data,
            actor=user.username,
            now=_now(),
            step_seconds=_step(),
            check_access=lambda facts: _may_work(user, task_id, facts),
        )
    if not access.can_read_case(user.actor, services.permissions(_db(), view.version_id), view.data):
        return _dump(
            schemas.InstanceOut,
            _instance_out(
                services.InstanceView(
                    view.id,
                    view.process_id,
                    view.version_id,
                    view.status,
                    {},
                    None,
                    [],
                    None,
                    view.created_at,
                    view.updated_at,
                    [t for t in view.open_tasks if t.assignee and t.assignee in (user.username, user.agency)],
                )
            ),
        )
    return _dump(schemas.InstanceOut, _instance_out(view))


# Routes kept in their own modules, registered on this blueprint (and in the OpenAPI document) on import.
from cprflow.web import (
    audit_api,  # noqa: F401 - registers the audit routes on this blueprint
    casefiles,  # noqa: F401 - registers the document routes on this blueprint
    learning,  # noqa: F401  (last: it uses this module's helpers)
    modeling_api,  # noqa: F401 - registers the process owners' endpoints on bp
    notify_api,  # noqa: F401 - email settings and failed sends, on this blueprint
)
