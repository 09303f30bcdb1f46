"""Documents posted in task forms: the files of a form's upload fields, filed before the form is read."""

from __future__ import annotations

from typing import Any

from flask import request

from cprflow.core import document_fields
from cprflow.services import documents
from cprflow.services.users import UserView
from cprflow.web.common import db, extraction_bounds, max_document_bytes, now


def posted_documents(user: UserView, instance_id: int, schema: dict[str, Any], assignee: str | None) -> dict[str, Any]:
    """The references a task form's document fields hold after this post: files just uploaded (all
    filed in one transaction, or none), else the reference the page carried, if it is this case's."""
    wanted = [
        (pointer, document_fields.slot_of(template, assignee)) for pointer, template in document_fields.fields(schema)
    ]
    if not wanted:
        return {}
    uploads: list[documents.FormUpload] = []
    carried: dict[str, tuple[int, str]] = {}
    for pointer, slot in wanted:
        upload = request.files.get(pointer)
        if upload is not None and upload.filename and slot:
            try:
                content = upload.read(max_document_bytes() + 1)
            finally:  # a large upload is spooled to a temporary file: close it now, not at collection
                upload.close()
            uploads.append(documents.FormUpload(pointer, slot, upload.filename, content))
        raw = request.form.get(pointer, "")
        if raw.isdigit() and slot:
            carried[pointer] = (int(raw), slot)
    return documents.file_form_uploads(
        db(),
        user.actor,
        instance_id,
        uploads,
        carried,
        now=now(),
        max_bytes=max_document_bytes(),
        bounds=extraction_bounds(),
    )
