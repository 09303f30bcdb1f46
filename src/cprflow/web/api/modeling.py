"""The JSON API of process owners: check edits, read versions and diffs, preview and migrate.

Registered on the API blueprint (``cprflow.web.api.bp``) so the OpenAPI document and the
bearer-token rules cover these endpoints as they do every other.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from cprflow.services import deployments, modeling
from cprflow.web import schemas
from cprflow.web.auth import current_user, require_role
from cprflow.web.common import body, db, dump, instance_out, known_id, now, query, step_seconds
from cprflow.web.openapi import route

bp = Blueprint("modeling", __name__)


@route(
    bp,
    "/processes/check",
    "POST",
    "Run the deploy checks over the newest version with these files replaced (process owners); nothing is stored",
    body=schemas.EditsRequest,
    response=schemas.CheckOut,
    errors=(403, 422),
)
def check_edits() -> Any:
    require_role(current_user(), *modeling.EDITORS)
    report = modeling.check_edits(db(), body(schemas.EditsRequest)["files"])
    return dump(schemas.CheckOut, report)


@route(
    bp,
    "/versions",
    "GET",
    "Deployed versions, newest first: who deployed what and when",
    response=schemas.VersionInfoList,
    errors=(403,),
)
def list_versions() -> Any:
    require_role(current_user(), *modeling.VERSION_READERS)
    from cprflow import services

    return dump(schemas.VersionInfoList, {"versions": services.list_versions(db())})


@route(
    bp,
    "/versions/<int:version_id>/current",
    "POST",
    "Make a deployed version current: new reviews start on it (process owners; recorded with the note)",
    body=schemas.MakeCurrentRequest,
    response=schemas.VersionOut,
    errors=(403, 404, 422),
)
def make_current(version_id: int) -> Any:
    user = current_user()
    require_role(user, *modeling.EDITORS)
    note = (body(schemas.MakeCurrentRequest)["note"] or "").strip() or None
    known_id(version_id)
    result = deployments.make_current(db(), version_id, actor=user.username, now=now(), note=note)
    return dump(schemas.VersionOut, result)


@route(
    bp,
    "/versions/<int:version_id>/diff",
    "GET",
    "What a version changed from the one before it (or ?against=)",
    query=schemas.DiffQuery,
    response=schemas.DiffOut,
    errors=(403, 404),
)
def version_diff(version_id: int) -> Any:
    require_role(current_user(), *modeling.VERSION_READERS)
    against = query(schemas.DiffQuery).get("against")
    known_id(version_id)
    found = modeling.version_diff(db(), version_id, against)
    base = against if against is not None else modeling.predecessor(db(), version_id)
    return dump(schemas.DiffOut, {"version_id": version_id, "against": base, "files": [vars(d) for d in found]})


@route(
    bp,
    "/versions/<int:version_id>/migrations",
    "GET",
    "Running instances on older versions: can each move to this one, and what changes for it (process owners)",
    response=schemas.MigrationPreviewList,
    errors=(403, 404),
)
def preview_migrations(version_id: int) -> Any:
    user = current_user()
    require_role(user, *modeling.EDITORS)
    known_id(version_id)
    found = modeling.preview_migrations(db(), version_id, actor=user.username, now=now(), step_seconds=step_seconds())
    return dump(schemas.MigrationPreviewList, {"instances": found})


@route(
    bp,
    "/instances/<int:instance_id>/migrate",
    "POST",
    "Move a running instance to a newer version (process owners; reason recorded)",
    body=schemas.MigrateRequest,
    response=schemas.InstanceOut,
    errors=(403, 404, 409),
)
def migrate(instance_id: int) -> Any:
    user = current_user()
    require_role(user, *modeling.EDITORS)
    request_ = body(schemas.MigrateRequest)
    known_id(instance_id)
    view = modeling.migrate_instance(
        db(),
        instance_id,
        request_["to_version"],
        reason=request_["reason"],
        actor=user.username,
        now=now(),
        step_seconds=step_seconds(),
    )
    return dump(schemas.InstanceOut, instance_out(view))
