"""Documents posted in task forms: a file that is not a document refused at its field with nothing
stored, and an agency's timeline filed through its task form and kept in the draft."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from sqlalchemy import select

from cprflow.db.database import Database
from cprflow.db.models import Document
from tests.fixtures import files
from tests.web.api.test_documents import counts
from tests.web.casefiles_world import PASSWORD, World


def _sign_in(client: FlaskClient, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_an_agency_uploads_its_timeline_through_the_task_form(
    docs_client: FlaskClient, docs_db: Database, docs_world: World
) -> None:
    _sign_in(docs_client, "police")
    tasks = docs_client.get("/tasks").text
    link = re.search(r'href="(/tasks/[0-9a-f-]{36})">Submit', tasks).group(1)
    form = docs_client.get(link).text
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    # A file that is not a document is refused at its field, and nothing is stored.
    before = counts(docs_db)
    refused = docs_client.post(
        link,
        data={
            "csrf_token": token,
            "_action": "draft",
            "/timeline_document": (io.BytesIO(b"<html>not a pdf</html>"), "t.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "only PDF" in refused.text
    assert counts(docs_db) == before
    chronology = (io.BytesIO(files.docx("Police chronology")), "police.docx")
    saved = docs_client.post(
        link,
        data={"csrf_token": token, "_action": "draft", "/timeline_document": chronology},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    again = docs_client.get(link).text
    assert "police.docx" in again  # the draft keeps the reference; the form shows the current file
    with docs_db.transaction(write=False) as session:
        stored = session.scalars(select(Document).where(Document.slot == "agency_timeline_police")).all()
    assert [(d.filename, d.uploaded_by) for d in stored] == [("police.docx", "police")]
