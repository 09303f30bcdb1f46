"""A review's documents over HTTP: upload, list and download in the API; download and task-form uploads in pages.

Uploads are the only requests allowed past ``CPRFLOW_MAX_REQUEST_BYTES``: ``install`` raises the limit
to ``CPRFLOW_MAX_DOCUMENT_BYTES`` (plus room for the multipart envelope) for the upload endpoints
alone, before the CSRF check reads the form. Downloads are attachments of the stored type with
``nosniff``, so a browser never renders a file inside the application's origin.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from cprflow import casedocs, docfields, documents, schemas
from cprflow.config import Settings
from cprflow.documents import DocumentView
from cprflow.errors import Forbidden, InvalidData, NotFound
from cprflow.repository import Database
from cprflow.users import UserView
from cprflow.web.api import _dump, _known_id, bp
from cprflow.web.auth import current_user
from cprflow.web.errors import error_response
from cprflow.web.openapi import route

pages_bp = Blueprint("casefiles", __name__)

#: Room for the multipart envelope and the other fields of an upload request.
ENVELOPE_BYTES = 1024 * 1024
#: Most files one task-form post may carry (a form has at most a few upload fields).
FILES_PER_POST = 4
UPLOAD_ENDPOINTS = {"api.post_upload_document": 1, "pages.task": FILES_PER_POST}

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["slot", "file"],
                "properties": {
                    "slot": {"type": "string", "pattern": documents.SLOT.pattern},
                    "file": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}


def install(app: Flask, settings: Settings) -> None:
    """Let upload requests (and only those) be as large as the document limit allows."""
    app.register_blueprint(pages_bp)

    @app.before_request
    def upload_limit() -> None:
        files = UPLOAD_ENDPOINTS.get(request.endpoint or "")
        if files and request.method == "POST":
            request.max_content_length = max(
                settings.max_request_bytes, files * settings.max_document_bytes + ENVELOPE_BYTES
            )


def _db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


def _max_bytes() -> int:
    return int(current_app.config["CPRFLOW"].max_document_bytes)


def _too_large() -> Any:
    limit = documents.describe_size(_max_bytes())
    return error_response(
        "too_large", f"the upload is larger than {limit}", 413, {"/file": [f"the file is larger than {limit}"]}
    )


def document_out(view: DocumentView) -> dict[str, Any]:
    return dict(vars(view), reference=docfields.reference(view))


def attachment(view: DocumentView, content: bytes) -> Response:
    response = send_file(
        io.BytesIO(content), mimetype=view.content_type, as_attachment=True, download_name=view.filename, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- API -------------------------------------------------------------------------------------------


@route(
    bp,
    "/instances/<int:instance_id>/documents",
    "POST",
    "File a document (PDF, DOCX or ODT, recognised by content) as the next version of a slot",
    response=schemas.DocumentOut,
    status=201,
    errors=(400, 403, 404, 413, 422),
    extra={"requestBody": _UPLOAD_BODY},
)
def upload_document(instance_id: int) -> Any:
    user = current_user()
    _known_id(instance_id)
    if user.actor.read_only:  # auditors: refused before anything about the upload is looked at
        raise Forbidden("your role reads reviews and changes nothing")
    try:
        slot, upload = request.form.get("slot", ""), request.files.get("file")
    except RequestEntityTooLarge:
        return _too_large()
    fields: dict[str, list[str]] = {}
    if not documents.SLOT.match(slot):
        fields["/slot"] = ["is required: lower-case letters, digits and underscores"]
    if upload is None:
        fields["/file"] = ["is required: attach the file in the multipart field 'file'"]
    if fields:
        raise InvalidData("the upload needs a slot and a file", fields=fields)
    assert upload is not None
    try:
        data = upload.read(_max_bytes() + 1)
    finally:  # a large upload is spooled to a temporary file: close it now, not at collection
        upload.close()
    view = casedocs.upload(
        _db(), user.actor, instance_id, slot, upload.filename or "", data, now=_now(), max_bytes=_max_bytes()
    )
    return _dump(schemas.DocumentOut, document_out(view), 201)


@route(
    bp,
    "/instances/<int:instance_id>/documents",
    "GET",
    "The review's documents, every version, slot by slot",
    response=schemas.DocumentList,
    errors=(404,),
)
def list_documents(instance_id: int) -> Any:
    user = current_user()
    _known_id(instance_id)
    found = casedocs.list_documents(_db(), user.actor, instance_id, now=_now())
    return _dump(schemas.DocumentList, {"documents": [document_out(d) for d in found]})


@route(
    bp,
    "/instances/<int:instance_id>/documents/<int:document_id>",
    "GET",
    "Download one document (an attachment of its stored type; recorded as an event)",
    errors=(404,),
    extra={
        "responses": {
            "200": {
                "description": "the file",
                "content": {
                    documents.PDF: {"schema": {"type": "string", "format": "binary"}},
                    documents.DOCX: {"schema": {"type": "string", "format": "binary"}},
                    documents.ODT: {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "401": {"description": "Not signed in", "content": {"application/json": {"schema": "ErrorResponse"}}},
            "404": {"description": "No such thing", "content": {"application/json": {"schema": "ErrorResponse"}}},
        }
    },
)
def download_document(instance_id: int, document_id: int) -> Any:
    user = current_user()
    _known_id(instance_id)
    _known_id(document_id)
    return attachment(*casedocs.download(_db(), user.actor, instance_id, document_id, now=_now()))


# ---- pages -----------------------------------------------------------------------------------------


@pages_bp.get("/reviews/<int:instance_id>/documents/<int:document_id>")
def page_download(instance_id: int, document_id: int) -> Any:
    from cprflow.web.pages import _signed_in  # the pages' sign-in redirect

    user = _signed_in()
    if instance_id > 2**31 - 1 or document_id > 2**31 - 1:
        raise NotFound(str(document_id))
    return attachment(*casedocs.download(_db(), user.actor, instance_id, document_id, now=_now()))


def latest_documents(instance_id: int) -> list[DocumentView]:
    """For the review page (whose caller has already checked the case may be read)."""
    with _db().transaction(write=False) as session:
        return documents.list_for(session, instance_id, latest_only=True)


def posted_documents(
    user: UserView, instance_id: int, schema: dict[str, Any], assignee: str | None, files: Any, form: Any
) -> dict[str, dict[str, Any]]:
    """The references a task form's document fields hold after this post: files just uploaded (all
    stored in one transaction, or none), else the reference the page carried, if it is this case's."""
    wanted = [(pointer, docfields.slot_of(template, assignee)) for pointer, template in docfields.fields(schema)]
    if not wanted:
        return {}
    refs: dict[str, dict[str, Any]] = {}
    uploads: list[tuple[str, str, FileStorage]] = []
    for pointer, slot in wanted:
        upload = files.get(pointer)
        if upload is not None and upload.filename and slot:
            uploads.append((pointer, slot, upload))
    db, now = _db(), _now()
    with db.transaction() as session:
        for pointer, slot, upload in uploads:
            if not casedocs.may_upload(session, user.actor, instance_id, slot):
                message = "you may not file this document"
                raise InvalidData(message, fields={pointer: [message]})
            try:
                content = upload.read(_max_bytes() + 1)
            finally:
                upload.close()
            view = documents.store(
                session,
                instance_id=instance_id,
                slot=slot,
                filename=upload.filename or "",
                data=content,
                actor=user.username,
                now=now,
                max_bytes=_max_bytes(),
                field=pointer,
            )
            refs[pointer] = docfields.reference(view)
        existing = {d.id: d for d in documents.list_for(session, instance_id)}
    for pointer, _slot in wanted:
        raw = form.get(pointer, "")
        if pointer not in refs and raw.isdigit() and int(raw) in existing:
            refs[pointer] = docfields.reference(existing[int(raw)])
    return refs


def findings_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The anonymisation findings the diagram keeps in the case (``anonymisation_findings``)."""
    found = data.get("anonymisation_findings")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []
