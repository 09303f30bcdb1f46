"""Use cases for a case's documents: upload, list, download; one transaction each, access decided here.

Who may read a case's documents: who reads the case reads them all; who holds or held a task in it
reads those in the slots their tasks' forms show (``guards.readable_slots``). Who may upload
to a slot: a person who reads the case (and is not read-only), into any slot a form of the case's
version declares; or a person with an open task on the case whose form asks for that slot (an agency
uploading its timeline reads nothing else of the case). Every download is an event.

An upload's text is read after its transaction commits, in a bounded child process
(``features.extraction``), so a file that is costly to read holds up only the person uploading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow.core import access, document_fields
from cprflow.core.errors import Forbidden, InvalidData, NotFound
from cprflow.core.views import DocumentView
from cprflow.db import guards
from cprflow.db.database import Database
from cprflow.db.store import INSTANCES, TASKS, deployed_version, load_instance, record_event, record_read
from cprflow.features import documents
from cprflow.features.extraction import DEFAULT_BOUNDS, Bounds


def _case(session: Session, instance_id: int) -> tuple[int, dict[str, Any]]:
    row = (
        session.connection()
        .execute(select(INSTANCES.c.version_id, INSTANCES.c.data).where(INSTANCES.c.id == instance_id))
        .first()
    )
    if row is None:
        raise NotFound(f"instance {instance_id} not found")
    return row.version_id, row.data or {}


def _readable(session: Session, actor: access.Actor, instance_id: int) -> set[str] | None:
    """The slots the person may open (None: every one), or not found."""
    return guards.readable_slots(session, actor, load_instance(session, instance_id))


def _shown(found: list[DocumentView], slots: set[str] | None) -> list[DocumentView]:
    return found if slots is None else [d for d in found if d.slot in slots]


def may_upload(session: Session, actor: access.Actor, instance_id: int, slot: str) -> bool:
    """Raise NotFound if the person may neither read the case nor work a task on it, Forbidden (with
    the reason) if a reader asks to file in an agency's own slot not theirs; else say yes/no."""
    version_id, data = _case(session, instance_id)
    version = deployed_version(session, version_id)
    perms = version.permissions
    if access.can_read_case(actor, perms, data):
        if actor.read_only or not document_fields.declares(version.forms.values(), slot):
            return False
        owner = document_fields.owner_of(version.forms.values(), slot)
        if owner is not None and owner != (actor.agency or "").lower():
            # Reading a case is not acting for its agencies: their own slots are theirs to file.
            raise Forbidden(f"'{slot}' is the {owner} agency's own document; only {owner} staff file it")
        return True
    open_tasks = (
        session.connection()
        .execute(
            select(TASKS.c.form, TASKS.c.lane, TASKS.c.assignee).where(
                TASKS.c.instance_id == instance_id, TASKS.c.closed_at.is_(None)
            )
        )
        .all()
    )
    workable = [t for t in open_tasks if access.can_work(actor, perms, t.lane, t.assignee)]
    if not workable:
        raise NotFound(f"instance {instance_id} not found")
    return any(
        document_fields.slot_of(template, t.assignee) == slot
        for t in workable
        for _, template in document_fields.fields(version.forms.get(t.form or "") or {})
    )


def upload(
    db: Database,
    actor: access.Actor,
    instance_id: int,
    slot: str,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    max_bytes: int,
    field: str = "/file",
    bounds: Bounds = DEFAULT_BOUNDS,
) -> DocumentView:
    with db.transaction() as session:
        if not may_upload(session, actor, instance_id, slot):
            raise Forbidden(f"you may not file documents as '{slot}' in this review")
        stored = documents.store(
            session,
            instance_id=instance_id,
            slot=slot,
            filename=filename,
            data=data,
            actor=actor.username,
            now=now,
            max_bytes=max_bytes,
            field=field,
        )
    return documents.read_text(db, stored.id, bounds)


def list_documents(db: Database, actor: access.Actor, instance_id: int, *, now: datetime) -> list[DocumentView]:
    with db.transaction() as session:
        slots = _readable(session, actor, instance_id)
        record_read(session, instance_id, actor.username, now, "documents")
        return _shown(documents.list_for(session, instance_id), slots)


def download(
    db: Database, actor: access.Actor, instance_id: int, document_id: int, *, now: datetime
) -> tuple[DocumentView, bytes]:
    """The document and its bytes; recorded as a ``document_downloaded`` event in the same transaction."""
    with db.transaction() as session:
        slots = _readable(session, actor, instance_id)
        document = documents.get(session, document_id)
        if document.instance_id != instance_id or (slots is not None and document.slot not in slots):
            raise NotFound(f"document {document_id} not found")
        record_event(
            session,
            instance_id,
            "document_downloaded",
            actor.username,
            now,
            {
                "document_id": document.id,
                "slot": document.slot,
                "version": document.version,
                "filename": document.filename,
                "sha256": document.sha256,
            },
        )
        return document, documents.content(session, document)


def latest(db: Database, actor: access.Actor, instance_id: int) -> list[DocumentView]:
    """The newest version of each of the case's documents (the case page lists these)."""
    with db.transaction(write=False) as session:
        slots = _readable(session, actor, instance_id)
        return _shown(documents.list_for(session, instance_id, latest_only=True), slots)


@dataclass(frozen=True)
class FormUpload:
    """A file posted in a task form's document field (``pointer``) for ``slot``."""

    pointer: str
    slot: str
    filename: str
    data: bytes


def file_form_uploads(
    db: Database,
    actor: access.Actor,
    instance_id: int,
    uploads: list[FormUpload],
    carried: dict[str, tuple[int, str]],
    *,
    now: datetime,
    max_bytes: int,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> dict[str, dict[str, Any]]:
    """File a task form's uploads, all in one transaction or none (a refused one is named at its
    field), and return the references the form's document fields now hold: the files just filed,
    else the document each field carried (``carried``: pointer -> (document id, the field's slot)), if
    it is this case's and filed in that field's slot: a carried id never brings another slot's
    document (another agency's timeline) into a form, or its name onto a page."""
    refs: dict[str, dict[str, Any]] = {}
    stored: list[int] = []
    with db.transaction() as session:
        for upload in uploads:
            try:
                allowed = may_upload(session, actor, instance_id, upload.slot)
            except Forbidden as refused:
                raise InvalidData(refused.message, fields={upload.pointer: [refused.message]}) from None
            if not allowed:
                message = "you may not file this document"
                raise InvalidData(message, fields={upload.pointer: [message]})
            view = documents.store(
                session,
                instance_id=instance_id,
                slot=upload.slot,
                filename=upload.filename,
                data=upload.data,
                actor=actor.username,
                now=now,
                max_bytes=max_bytes,
                field=upload.pointer,
            )
            refs[upload.pointer] = document_fields.reference(view)
            stored.append(view.id)
        existing = {d.id: d for d in documents.list_for(session, instance_id)} if carried else {}
    for pointer, (document_id, slot) in carried.items():
        document = existing.get(document_id)
        if pointer not in refs and document is not None and document.slot == slot:
            refs[pointer] = document_fields.reference(document)
    for document_id in stored:
        documents.read_text(db, document_id, bounds)
    return refs
