"""The review page's documents: listed with links, downloaded as attachments and recorded, and not
found for someone who may not read the case."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from cprflow.db.database import Database
from tests.fixtures import files
from tests.web.api.test_documents import events_of
from tests.web.casefiles_world import DRAFT_TEXT, PASSWORD, World


def _sign_in(client: FlaskClient, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_the_review_page_lists_documents_and_downloads_them_as_attachments(
    docs_client: FlaskClient, docs_db: Database, docs_world: World
) -> None:
    _sign_in(docs_client, "panel")
    page = docs_client.get(f"/reviews/{docs_world.review}/documents").text  # the case page's documents
    link = f"/reviews/{docs_world.review}/documents/{docs_world.draft_id}"
    assert f'href="{link}"' in page and "draft.pdf" in page
    response = docs_client.get(link)
    assert response.status_code == 200 and response.data == files.pdf(*DRAFT_TEXT)
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert [e.actor for e in events_of(docs_db, "document_downloaded")] == ["panel"]


def test_people_who_may_not_read_the_case_cannot_download_from_the_pages(
    docs_client: FlaskClient, docs_db: Database, docs_world: World
) -> None:
    _sign_in(docs_client, "police")
    assert docs_client.get(f"/reviews/{docs_world.review}/documents/{docs_world.draft_id}").status_code == 404
    assert events_of(docs_db, "document_downloaded") == []
