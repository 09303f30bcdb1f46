"""Use cases for a case's documents: upload, list, download; one transaction each, access decided here.

Who may read a case's documents is who may read the case (``access.can_read_case``). Who may upload
to a slot: a person who reads the case (and is not read-only), into any slot a form of the case's
version declares; or a person with an open task on the case whose form asks for that slot (an agency
uploading its timeline reads nothing else of the case). Every download is an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow import access, docfields, documents
from cprflow.documents import DocumentView
from cprflow.errors import Forbidden, NotFound
from cprflow.repository import Database
from cprflow.store import INSTANCES, TASKS, deployed_version, record_event


def _case(session: Session, instance_id: int) -> tuple[int, dict[str, Any]]:
    row = (
        session.connection()
        .execute(select(INSTANCES.c.version_id, INSTANCES.c.data).where(INSTANCES.c.id == instance_id))
        .first()
    )
    if row is None:
        raise NotFound(f"instance {instance_id} not found")
    return row.version_id, row.data or {}


def _readable(session: Session, actor: access.Actor, instance_id: int) -> tuple[int, dict[str, Any]]:
    version_id, data = _case(session, instance_id)
    if not access.can_read_case(actor, deployed_version(session, version_id).permissions, data):
        raise NotFound(f"instance {instance_id} not found")  # do not confirm that a case exists
    return version_id, data


def may_upload(session: Session, actor: access.Actor, instance_id: int, slot: str) -> bool:
    """Raise NotFound if the person may neither read the case nor work a task on it; else say yes/no."""
    version_id, data = _case(session, instance_id)
    version = deployed_version(session, version_id)
    perms = version.permissions
    if access.can_read_case(actor, perms, data):
        return not actor.read_only and docfields.declares(version.forms.values(), slot)
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
        docfields.slot_of(template, t.assignee) == slot
        for t in workable
        for _, template in docfields.fields(version.forms.get(t.form or "") or {})
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
) -> DocumentView:
    with db.transaction() as session:
        if not may_upload(session, actor, instance_id, slot):
            raise Forbidden(f"you may not file documents as '{slot}' in this review")
        return documents.store(
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


def list_documents(db: Database, actor: access.Actor, instance_id: int, *, now: datetime) -> list[DocumentView]:
    with db.transaction() as session:
        _readable(session, actor, instance_id)
        record_event(session, instance_id, "case_read", actor.username, now, {"what": "documents"})
        return documents.list_for(session, instance_id)


def download(
    db: Database, actor: access.Actor, instance_id: int, document_id: int, *, now: datetime
) -> tuple[DocumentView, bytes]:
    """The document and its bytes; recorded as a ``document_downloaded`` event in the same transaction."""
    with db.transaction() as session:
        _readable(session, actor, instance_id)
        document = documents.get(session, document_id)
        if document.instance_id != instance_id:
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
