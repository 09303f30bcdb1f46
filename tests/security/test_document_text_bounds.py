"""Reading an upload's text is bounded and never holds the database: a small file that is costly to
read (a PDF whose pages share one stream of 400,000 text operators, a DOCX of a million paragraphs)
is stored, flagged to the people who see the case's documents, and blocks nobody else's work."""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
import zlib
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.features import extraction
from cprflow.features.extraction import Bounds
from cprflow.web import create_app
from tests.fixtures import files
from tests.web.casefiles_world import PASSWORD, World, upload
from tests.web.conftest import make_settings


def shared_stream_pdf(operators: int = 400_000, pages: int = 40) -> bytes:
    """A few KB: every page draws the same compressed stream of ``operators`` text operators."""
    stream = zlib.compress(b"BT /F1 1 Tf " + b"(a) Tj " * operators + b"ET", 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ] + [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
        b" /Resources << /Font << /F1 4 0 R >> >> >>"
    ] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % o for o in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def million_paragraph_docx() -> bytes:
    body = b"<w:p><w:r><w:t>Child C</w:t></w:r></w:p>" * 1_000_000
    document = (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", document)
    return out.getvalue()


@pytest.fixture
def bounded_client(docs_db: Database) -> FlaskClient:
    """The casefiles world with a short time bound on reading text, so the hostile files break it soon."""
    settings = make_settings(docs_db.url, max_document_bytes=256 * 1024, extract_seconds=2.0)
    app: Flask = create_app(settings, db=docs_db)
    return app.test_client()


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.mark.parametrize(
    "name, content", [("report.pdf", shared_stream_pdf()), ("timeline.docx", million_paragraph_docx())]
)
def test_a_file_too_costly_to_read_is_stored_and_flagged_and_holds_no_lock(
    bounded_client: FlaskClient,
    docs_db: Database,
    docs_world: World,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: bytes,
) -> None:
    assert len(content) < 256 * 1024  # small files: the cost is in reading them
    path = docs_db.url.split("///", 1)[1]
    others_wrote: list[bool] = []
    real_run = extraction.run

    def run_while_someone_else_writes(*args: Any) -> extraction.Result:
        # While the file is read, another person's save must get the write lock at once.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            others_wrote.append(True)
        except sqlite3.OperationalError:
            others_wrote.append(False)
        finally:
            other.close()
        return real_run(*args)

    monkeypatch.setattr(extraction, "run", run_while_someone_else_writes)
    headers = _token(bounded_client, "bu")
    response = upload(bounded_client, headers, docs_world.review, "final_report", content, name)
    body = response.get_json()
    assert response.status_code == 201, body
    assert others_wrote == [True]
    assert body["text_status"] == "refused" and body["has_text"] is False
    listed = bounded_client.get(f"/api/instances/{docs_world.review}/documents", headers=headers).get_json()
    assert [d["text_status"] for d in listed["documents"] if d["id"] == body["id"]] == ["refused"]
    download = bounded_client.get(f"/api/instances/{docs_world.review}/documents/{body['id']}", headers=headers)
    assert download.data == content  # kept as sent


def test_the_uploader_sees_the_flag_on_the_case_documents(
    bounded_client: FlaskClient, docs_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extraction, "run", lambda *args: extraction.Result(extraction.REFUSED, None))
    assert upload(bounded_client, _token(bounded_client, "bu"), docs_world.review, "final_report", files.pdf("x"))
    login = bounded_client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    bounded_client.post("/login", data={"csrf_token": csrf, "username": "bu", "password": PASSWORD})
    page = bounded_client.get(f"/reviews/{docs_world.review}/documents").text  # the case's documents
    assert "Text not read" in page and "check it by hand" in page


def test_each_bound_is_held_by_the_child_process() -> None:
    ordinary = files.pdf("Learning for Gwent")
    assert extraction.run(extraction.PDF, ordinary, Bounds()) == extraction.Result("extracted", "Learning for Gwent")
    # Memory: the child cannot even start its reader within 1 MiB.
    assert extraction.run(extraction.PDF, ordinary, Bounds(memory_mb=1)).status == "refused"
    # Output: a long text stops being read once past the bound, and is refused rather than cut.
    long_docx = files.docx(*["Child C was known to school"] * 200)
    assert extraction.run(extraction.DOCX, long_docx, Bounds(max_chars=1000)).status == "refused"
    assert extraction.run(extraction.DOCX, long_docx, Bounds()).status == "extracted"
    # Time: the shared-stream PDF takes far longer than a second to read.
    assert extraction.run(extraction.PDF, shared_stream_pdf(), Bounds(seconds=1)).status == "refused"


def test_documents_left_unread_are_read_by_the_command(tmp_path: Any) -> None:
    """If the service stops between saving an upload and reading it, ``cprflow documents read-text`` reads it."""
    from click.testing import CliRunner

    from cprflow import services
    from cprflow.cli import main
    from cprflow.features import documents
    from tests.conftest import T0, sample_diagrams

    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade()
    services.deploy(db, sample_diagrams(), actor="owner", now=T0)
    case = services.start_instance(db, "sample_case", {}, actor="bu", now=T0)
    with db.transaction() as session:
        stored = documents.store(
            session,
            instance_id=case.id,
            slot="final_report",
            filename="r.pdf",
            data=files.pdf("Learning"),
            actor="x",
            now=T0,
        )
    assert stored.text_status == "pending"
    result = CliRunner().invoke(main, ["documents", "read-text"], env={"CPRFLOW_DATABASE_URL": db.url})
    assert result.exit_code == 0, result.output
    assert f"document {stored.id} (final_report v1): extracted" in result.output
    with db.transaction(write=False) as session:
        assert documents.text(session, stored.id) == "Learning"
    db.dispose()
