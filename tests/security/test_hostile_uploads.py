"""Hostile uploads, in the corpus's style: each row a file as an attacker sends it, the answer expected
(status, error code, the field named) and, for a refusal, proof that nothing was stored or recorded.

The world is a real review (tests/web/casefiles_world.py) with a document limit of 256 KiB, so
"too large" is cheap to send: within the upload envelope the file field is refused (422), beyond it
the whole request is (413), and both name ``/file``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cprflow.db.database import Database
from cprflow.db.models import Document
from cprflow.features import documents
from tests.fixtures import files
from tests.web.api.test_documents import counts
from tests.web.casefiles_world import World, upload

LIMIT = 256 * 1024


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


XXE_DOCX = _zip(
    {
        "word/document.xml": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
        )
    }
)
LAUGHS_DOCX = _zip(
    {
        "word/document.xml": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>&d;&d;&d;</w:t></w:r></w:p></w:body></w:document>"
        )
    }
)
BOMB = _zip({"word/document.xml": b"0" * (documents.MAX_EXPANDED_BYTES + 1)})
POLYGLOT = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF"


@dataclass(frozen=True)
class Row:
    name: str
    content: bytes
    filename: str = "report.pdf"
    status: int = 422
    code: str = "invalid_data"
    message: str = ""


ROWS = [
    Row("html named .pdf", b"<html><script>alert(1)</script></html>", message="only PDF"),
    Row("windows program named .docx", b"MZ\x90\x00" + b"\x00" * 200, "timeline.docx", message="only PDF"),
    Row("zip that is not a document", _zip({"notes.txt": b"hello"}), "report.docx", message="only PDF"),
    Row("damaged zip", b"PK\x03\x04" + b"\x00" * 50, "report.docx", message="damaged"),
    Row("zip bomb", BOMB, "report.docx", message="expands"),
    Row("empty file", b"", message="empty"),
    Row("control characters in the name", files.pdf("x"), "rep\x07ort.pdf", message="plain name"),
    Row("one byte over the limit", files.pdf("x") + b"%" + b"0" * LIMIT, message="larger than"),
    Row("far over the limit", b"%PDF-" + b"0" * (6 * 1024 * 1024), status=413, code="too_large", message="larger than"),
    Row("external entity in a docx", XXE_DOCX, "report.docx", status=201),
    Row("billion laughs in a docx", LAUGHS_DOCX, "report.docx", status=201),
    Row("html hidden behind a PDF header", POLYGLOT, "report.pdf", status=201),
    Row("a path in the file name", files.pdf("x"), "../../etc/report.pdf", status=201),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_hostile_upload(docs_client: FlaskClient, docs_db: Database, bearer: Any, docs_world: World, row: Row) -> None:
    before = counts(docs_db)
    response = upload(docs_client, bearer("bu"), docs_world.review, "final_report", row.content, row.filename)
    body = response.get_json()
    assert response.status_code == row.status, body
    if row.status >= 400:
        assert body["error"]["code"] == row.code and list(body["error"]["fields"]) == ["/file"], body
        assert row.message in body["error"]["fields"]["/file"][0]
        assert counts(docs_db) == before
        return
    # Accepted: stored under a plain name, its text (if any) read without entities, served inert.
    assert "/" not in body["filename"] and ".." not in body["filename"]
    with docs_db.transaction(write=False) as session:
        stored = session.scalars(select(Document).where(Document.id == body["id"])).one()
    assert "root:" not in (stored.text or "") and len(stored.text or "") < 10_000
    download = docs_client.get(f"/api/instances/{docs_world.review}/documents/{body['id']}", headers=bearer("bu"))
    assert download.data == row.content
    assert download.headers["Content-Type"] in (documents.PDF, documents.DOCX)
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_hostile_file_through_a_task_form_is_refused_at_its_field(
    docs_client: FlaskClient, docs_db: Database, docs_world: World
) -> None:
    import re

    from tests.web.pages.test_documents import _sign_in

    _sign_in(docs_client, "police")
    link = re.search(r'href="(/tasks/[0-9a-f-]{36})">Submit', docs_client.get("/tasks").text).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', docs_client.get(link).text).group(1)
    before = counts(docs_db)
    response = docs_client.post(
        link,
        data={"csrf_token": token, "_action": "draft", "/timeline_document": (io.BytesIO(BOMB), "timeline.docx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "expands" in response.text
    assert counts(docs_db) == before
