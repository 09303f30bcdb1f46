"""An agency's own document slot (``agency_timeline_{assignee}``) is filed by that agency: a person
who reads the whole case cannot put a new version of police's timeline in police's name."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from cprflow.core import document_fields
from cprflow.db.database import Database
from tests.fixtures import files
from tests.web.api.test_documents import counts
from tests.web.casefiles_world import World, upload

TIMELINE = {"properties": {"t": {"type": "object", "x-document": {"slot": "agency_timeline_{assignee}"}}}}
REPORT = {"properties": {"r": {"type": "object", "x-document": {"slot": "final_report"}}}}


def test_a_reader_cannot_file_into_an_agencys_slot_and_is_told_why(
    docs_client: FlaskClient, docs_db: Database, bearer: Any, docs_world: World
) -> None:
    for reader in ("bu", "panel", "admin"):
        before = counts(docs_db)
        response = upload(docs_client, bearer(reader), docs_world.review, "agency_timeline_police", files.pdf("x"))
        assert response.status_code == 403, reader
        assert "police agency's own document" in response.get_json()["error"]["message"]
        assert counts(docs_db) == before
    mine = upload(docs_client, bearer("police"), docs_world.review, "agency_timeline_police", files.pdf("ours"))
    assert mine.status_code == 201
    shared = upload(docs_client, bearer("bu"), docs_world.review, "final_report", files.pdf("report"))
    assert shared.status_code == 201


def test_whose_slot_it_is_comes_from_the_forms_templates() -> None:
    assert document_fields.owner_of([TIMELINE, REPORT], "agency_timeline_police") == "police"
    assert document_fields.owner_of([TIMELINE, REPORT], "final_report") is None
    assert (
        document_fields.owner_of(
            [TIMELINE, {"properties": {"x": {"x-document": {"slot": "agency_timeline_all"}}}}], "agency_timeline_all"
        )
        is None
    )


def test_a_carried_id_of_another_slots_document_shows_no_name_on_the_form(
    docs_client: FlaskClient, docs_world: World
) -> None:
    """The task form's hidden field carries a document id: pointed at the case's draft report (not
    police's slot), the form shown again must not name that file."""
    from tests.web.pages.test_documents import _sign_in

    _sign_in(docs_client, "police")
    link = re.search(r'href="(/tasks/[0-9a-f-]{36})">Submit', docs_client.get("/tasks").text).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrf_token" value="([^"]+)"', docs_client.get(link).text).group(1)  # type: ignore[union-attr]
    response = docs_client.post(
        link,
        data={"csrf_token": token, "_add": "/timeline_events", "/timeline_document": str(docs_world.draft_id)},
    )
    assert response.status_code == 200
    assert "draft.pdf" not in response.text and "draft_report" not in response.text
