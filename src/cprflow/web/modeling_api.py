"""The JSON API of process owners: check edits, read versions and diffs, preview and migrate.

Registered on the API blueprint (``cprflow.web.api.bp``) so the OpenAPI document and the
bearer-token rules cover these endpoints as they do every other.
"""

from __future__ import annotations

from typing import Any

from cprflow import modeling, schemas
from cprflow.web.api import _body, _db, _dump, _instance_out, _known_id, _now, _query, _step, bp
from cprflow.web.auth import current_user, require_role
from cprflow.web.openapi import route


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
    report = modeling.check_edits(_db(), _body(schemas.EditsRequest)["files"])
    return _dump(schemas.CheckOut, report)


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

    return _dump(schemas.VersionInfoList, {"versions": services.list_versions(_db())})


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
    against = _query(schemas.DiffQuery).get("against")
    _known_id(version_id)
    found = modeling.version_diff(_db(), version_id, against)
    base = against if against is not None else modeling.predecessor(_db(), version_id)
    return _dump(schemas.DiffOut, {"version_id": version_id, "against": base, "files": [vars(d) for d in found]})


@route(
    bp,
    "/versions/<int:version_id>/migrations",
    "GET",
    "Running instances on older versions: can each move to this one, and what changes for it (process owners)",
    response=schemas.MigrationPreviewList,
    errors=(403, 404),
)
def preview_migrations(version_id: int) -> Any:
    require_role(current_user(), *modeling.EDITORS)
    _known_id(version_id)
    found = modeling.preview_migrations(_db(), version_id, now=_now(), step_seconds=_step())
    return _dump(schemas.MigrationPreviewList, {"instances": found})


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
    request_ = _body(schemas.MigrateRequest)
    _known_id(instance_id)
    view = modeling.migrate_instance(
        _db(),
        instance_id,
        request_["to_version"],
        reason=request_["reason"],
        actor=user.username,
        now=_now(),
        step_seconds=_step(),
    )
    return _dump(schemas.InstanceOut, _instance_out(view))
