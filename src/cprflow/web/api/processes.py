"""The API of deployed processes: what the newest version offers, and deploying uploaded files."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from cprflow import services
from cprflow.core.errors import InvalidData
from cprflow.diagrams import diagram_set
from cprflow.web import schemas
from cprflow.web.auth import current_user, require_role
from cprflow.web.common import db, dump, now
from cprflow.web.errors import MalformedRequest
from cprflow.web.openapi import NOTE_CHARS, route

bp = Blueprint("processes", __name__)


@route(
    bp,
    "/processes",
    "GET",
    "The processes of the current version (where new reviews start)",
    response=schemas.ProcessList,
)
def list_processes() -> Any:
    current_user()
    versions = services.list_versions(db())
    newest = next((v for v in versions if v["current"]), None)
    return dump(
        schemas.ProcessList,
        {"version_id": newest["id"] if newest else None, "processes": newest["processes"] if newest else []},
    )


@route(
    bp,
    "/processes/deploy",
    "POST",
    "Deploy uploaded diagrams, forms or permissions over the current version, with an optional note of why "
    "(files already deployed: 200, and the message says which version new reviews start on)",
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
    files = dict(services.newest_files(db()))
    for upload in uploads:
        files[diagram_set.upload_path(upload.filename or "")] = upload.read()
    note = (request.form.get("note") or "").strip() or None  # why, kept with the version as the modeler's is
    if note is not None and len(note) > NOTE_CHARS:
        raise InvalidData("the note is too long", fields={"/note": [f"at most {NOTE_CHARS} characters"]})
    result = services.deploy(db(), diagram_set.DiagramSet(files), actor=user.username, now=now(), note=note)
    return dump(schemas.VersionOut, result, 201 if result.created else 200)
