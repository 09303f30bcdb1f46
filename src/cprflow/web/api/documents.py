"""The API of a review's documents: upload, list and download.

Uploads are the only requests allowed past ``CPRFLOW_MAX_REQUEST_BYTES``: the app raises the limit
to ``CPRFLOW_MAX_DOCUMENT_BYTES`` (plus room for the multipart envelope) for the upload endpoints
alone (``web.create_app``), before the CSRF check reads the form. Downloads are attachments of the
stored type with ``nosniff``, so a browser never renders a file inside the application's origin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from cprflow.core import document_fields
from cprflow.core.errors import Forbidden, InvalidData
from cprflow.core.views import DocumentView
from cprflow.features import documents
from cprflow.services import documents as service
from cprflow.web import schemas
from cprflow.web.auth import current_user
from cprflow.web.common import attachment, db, dump, extraction_bounds, known_id, max_document_bytes, now
from cprflow.web.errors import error_response
from cprflow.web.openapi import route

bp = Blueprint("documents", __name__)

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["slot", "file"],
                "properties": {
                    "slot": {"type": "string", "pattern": document_fields.SLOT.pattern},
                    "file": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}


def _too_large() -> Any:
    limit = documents.describe_size(max_document_bytes())
    return error_response(
        "too_large", f"the upload is larger than {limit}", 413, {"/file": [f"the file is larger than {limit}"]}
    )


def document_out(view: DocumentView) -> dict[str, Any]:
    return dict(vars(view), reference=document_fields.reference(view))


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
    known_id(instance_id)
    if user.actor.read_only:  # auditors: refused before anything about the upload is looked at
        raise Forbidden("your role reads reviews and changes nothing")
    try:
        slot, upload = request.form.get("slot", ""), request.files.get("file")
    except RequestEntityTooLarge:
        return _too_large()
    fields: dict[str, list[str]] = {}
    if not document_fields.SLOT.match(slot):
        fields["/slot"] = ["is required: lower-case letters, digits and underscores"]
    if upload is None:
        fields["/file"] = ["is required: attach the file in the multipart field 'file'"]
    if fields:
        raise InvalidData("the upload needs a slot and a file", fields=fields)
    assert upload is not None
    try:
        data = upload.read(max_document_bytes() + 1)
    finally:  # a large upload is spooled to a temporary file: close it now, not at collection
        upload.close()
    view = service.upload(
        db(),
        user.actor,
        instance_id,
        slot,
        upload.filename or "",
        data,
        now=now(),
        max_bytes=max_document_bytes(),
        bounds=extraction_bounds(),
    )
    return dump(schemas.DocumentOut, document_out(view), 201)


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
    known_id(instance_id)
    found = service.list_documents(db(), user.actor, instance_id, now=now())
    return dump(schemas.DocumentList, {"documents": [document_out(d) for d in found]})


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
    known_id(instance_id)
    known_id(document_id)
    return attachment(*service.download(db(), user.actor, instance_id, document_id, now=now()))
