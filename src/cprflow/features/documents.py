"""Case documents: files kept outside task data, stored once per content, versioned per slot.

A document belongs to an instance and a *slot* (``final_report``, ``agency_timeline_police``...);
storing to a slot again makes its next version and never edits an earlier one. Content lives in
``blobs`` under its SHA-256, so the same file uploaded twice is stored once. Only PDF, DOCX and ODT
are accepted, recognised by their content rather than by the name or type a client claims. Their
text (for search and checks) is read after the upload commits, in a bounded child process
(``extraction``, ``read_text``): until then a document is ``pending``, and one that cannot be read
within bounds is kept and flagged ``refused``. Callers frame the transaction and decide who may read.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cprflow.core.document_fields import SLOT
from cprflow.core.errors import InvalidData, NotFound
from cprflow.core.views import DocumentView
from cprflow.db.database import Database
from cprflow.db.models import Blob, Document
from cprflow.db.store import record_event
from cprflow.features import extraction
from cprflow.features.extraction import DOCX, ODT, PAGE_BREAK, PDF

BLOBS = Blob.__table__
DOCUMENTS = Document.__table__

__all__ = ["DOCX", "ODT", "PAGE_BREAK", "PDF"]

#: What each accepted type is called to a person.
KINDS = {PDF: "PDF", DOCX: "Word (DOCX)", ODT: "OpenDocument text (ODT)"}

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: A DOCX or ODT is a zip: refuse one that would expand past this (a zip bomb) before reading it.
MAX_EXPANDED_BYTES = 200 * 1024 * 1024


def _view(row) -> DocumentView:
    return DocumentView(
        row.id,
        row.instance_id,
        row.slot,
        row.version,
        row.filename,
        row.content_type,
        row.size,
        row.sha256,
        row.uploaded_by,
        row.uploaded_at,
        bool(row.text),
        row.text_status,
    )


def describe_size(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size / 1024:g} KiB"


def _refuse(message: str, field: str = "/file") -> InvalidData:
    return InvalidData(message, fields={field: [message]})


def sniff(data: bytes) -> str:
    """The accepted type this content really is, or InvalidData naming the file field."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
                if sum(info.file_size for info in infos) > MAX_EXPANDED_BYTES:
                    raise _refuse("the file expands to more than we accept")
                names = {info.filename for info in infos}
                if "mimetype" in names and archive.read("mimetype").strip() == ODT.encode():
                    return ODT
                if "word/document.xml" in names:
                    return DOCX
        except zipfile.BadZipFile:
            raise _refuse("the file is a damaged zip archive") from None
    raise _refuse("only PDF, Word (DOCX) and OpenDocument text (ODT) files are accepted")


def store(
    session: Session,
    *,
    instance_id: int,
    slot: str,
    filename: str,
    data: bytes,
    actor: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    field: str = "/file",
    text_now: bool = False,
) -> DocumentView:
    """Keep ``data`` as the next version of ``slot`` on the instance and record the event.

    Its text is left ``pending`` for ``read_text`` after the caller commits; ``text_now`` reads it
    here, in this process, and is only for files the service made itself (letters, samples)."""
    if not SLOT.match(slot):
        raise _refuse("a document slot is lower-case letters, digits and underscores", "/slot")
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
    if not name or any(ord(c) < 32 for c in name):
        raise _refuse("the file needs a plain name", field)
    if not data:
        raise _refuse("the file is empty", field)
    if len(data) > max_bytes:
        raise _refuse(f"the file is larger than {describe_size(max_bytes)}", field)
    try:
        content_type = sniff(data)
    except InvalidData as err:
        raise _refuse(err.message, field) from None
    digest = hashlib.sha256(data).hexdigest()
    connection = session.connection()
    if connection.execute(select(BLOBS.c.sha256).where(BLOBS.c.sha256 == digest)).first() is None:
        # Two reviews may file the same bytes at once (two identical letters): the second writer
        # finds the first's blob instead of failing its whole step.
        try:
            with connection.begin_nested():
                connection.execute(insert(BLOBS), {"sha256": digest, "size": len(data), "data": data})
        except IntegrityError:
            pass
    version = 1 + (
        connection.execute(
            select(func.max(DOCUMENTS.c.version)).where(
                DOCUMENTS.c.instance_id == instance_id, DOCUMENTS.c.slot == slot
            )
        ).scalar()
        or 0
    )
    row = {
        "instance_id": instance_id,
        "slot": slot,
        "version": version,
        "filename": name,
        "content_type": content_type,
        "size": len(data),
        "sha256": digest,
        **(_read_here(content_type, data) if text_now else {"text": None, "text_status": extraction.PENDING}),
        "uploaded_by": actor,
        "uploaded_at": now,
    }
    document_id = connection.execute(insert(DOCUMENTS).returning(DOCUMENTS.c.id), row).scalar_one()
    record_event(
        session,
        instance_id,
        "document_stored",
        actor,
        now,
        {
            "document_id": document_id,
            "slot": slot,
            "version": version,
            "filename": name,
            "content_type": content_type,
            "size": len(data),
            "sha256": digest,
        },
    )
    return _view(connection.execute(select(DOCUMENTS).where(DOCUMENTS.c.id == document_id)).one())


def _read_here(content_type: str, data: bytes) -> dict[str, str | None]:
    try:
        text = extraction.extract_text(content_type, data)
    except (extraction.TooLong, MemoryError):
        return {"text": None, "text_status": extraction.REFUSED}
    return {"text": text, "text_status": extraction.EXTRACTED if text else extraction.NONE}


def read_text(db: Database, document_id: int, bounds: extraction.Bounds) -> DocumentView:
    """Read a stored document's text in a bounded child process, outside any transaction, and keep
    it: other people's work never waits on a file being read. Only a ``pending`` document is read."""
    with db.transaction(write=False) as session:
        document = get(session, document_id)
        data = content(session, document) if document.text_status == extraction.PENDING else None
    if data is None:
        return document
    result = extraction.run(document.content_type, data, bounds)
    with db.transaction() as session:
        session.execute(
            update(DOCUMENTS)
            .where(DOCUMENTS.c.id == document_id, DOCUMENTS.c.text_status == extraction.PENDING)
            .values(text=result.text, text_status=result.status)
        )
        return get(session, document_id)


def read_pending(db: Database, bounds: extraction.Bounds) -> list[DocumentView]:
    """Read every document still ``pending`` (its uploader's process stopped before reading it)."""
    with db.transaction(write=False) as session:
        ids = (
            session.connection()
            .execute(
                select(DOCUMENTS.c.id).where(DOCUMENTS.c.text_status == extraction.PENDING).order_by(DOCUMENTS.c.id)
            )
            .scalars()
            .all()
        )
    return [read_text(db, document_id, bounds) for document_id in ids]


def get(session: Session, document_id: int) -> DocumentView:
    row = session.connection().execute(select(DOCUMENTS).where(DOCUMENTS.c.id == document_id)).first()
    if row is None:
        raise NotFound(f"document {document_id} not found")
    return _view(row)


def content(session: Session, document: DocumentView) -> bytes:
    return session.connection().execute(select(BLOBS.c.data).where(BLOBS.c.sha256 == document.sha256)).scalar_one()


def text(session: Session, document_id: int) -> str | None:
    return session.connection().execute(select(DOCUMENTS.c.text).where(DOCUMENTS.c.id == document_id)).scalar()


def list_for(session: Session, instance_id: int, *, latest_only: bool = False) -> list[DocumentView]:
    """An instance's documents, slot by slot, newest version first (or only the newest)."""
    rows = (
        session.connection()
        .execute(
            select(DOCUMENTS)
            .where(DOCUMENTS.c.instance_id == instance_id)
            .order_by(DOCUMENTS.c.slot, DOCUMENTS.c.version.desc())
        )
        .all()
    )
    views = [_view(r) for r in rows]
    if latest_only:
        seen: set[str] = set()
        views = [v for v in views if not (v.slot in seen or seen.add(v.slot))]
    return views
