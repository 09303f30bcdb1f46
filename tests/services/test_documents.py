"""A review's documents through the service: a task form's files filed all together or not at all,
each download recorded, and a task holder seeing only the documents of their own task's slots."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from cprflow.core.access import Actor
from cprflow.core.errors import InvalidData, NotFound
from cprflow.db.database import Database
from cprflow.db.models import Document, Event
from cprflow.services import documents
from tests.conftest import T0
from tests.fixtures import files
from tests.scenarios.cpr import LEAD
from tests.web.casefiles_world import World

BU = Actor("bu", frozenset({"business_unit"}))
POLICE = Actor("police", frozenset({"agency"}), "police")
FIRE = Actor("fire", frozenset({"agency"}), "fire")
LEAD_REVIEWER = Actor(LEAD, frozenset({"reviewer"}))
MAX = 256 * 1024


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(Document)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
            session.scalar(text("SELECT count(*) FROM blobs")) or 0,
        )


def test_a_forms_files_are_filed_all_or_none(docs_db: Database, docs_world: World) -> None:
    before = counts(docs_db)
    uploads = [
        documents.FormUpload("/timeline", "agency_timeline_police", "timeline.pdf", files.pdf("Timeline")),
        documents.FormUpload("/report", "final_report", "report.pdf", files.pdf("Not theirs to file")),
    ]
    with pytest.raises(InvalidData) as refused:
        documents.file_form_uploads(docs_db, POLICE, docs_world.review, uploads, {}, now=T0, max_bytes=MAX)
    assert refused.value.fields == {"/report": ["you may not file this document"]}
    assert counts(docs_db) == before  # the timeline, allowed on its own, was not kept either

    refs = documents.file_form_uploads(docs_db, POLICE, docs_world.review, uploads[:1], {}, now=T0, max_bytes=MAX)
    assert refs["/timeline"]["filename"] == "timeline.pdf" and refs["/timeline"]["version"] == 1


def test_a_carried_reference_must_be_a_document_of_this_review_in_its_slot(
    docs_db: Database, docs_world: World
) -> None:
    carried = {
        "/draft": (docs_world.draft_id, "draft_report"),
        "/missing": (10_000, "draft_report"),
        "/elsewhere": (docs_world.draft_id, "final_report"),  # never another slot's document
    }
    refs = documents.file_form_uploads(docs_db, BU, docs_world.review, [], carried, now=T0, max_bytes=MAX)
    assert list(refs) == ["/draft"] and refs["/draft"]["document_id"] == docs_world.draft_id


def test_a_download_is_recorded_with_what_was_read(docs_db: Database, docs_world: World) -> None:
    view, content = documents.download(docs_db, LEAD_REVIEWER, docs_world.review, docs_world.draft_id, now=T0)
    assert content.startswith(b"%PDF") and view.filename == "draft.pdf"
    with docs_db.transaction(write=False) as session:
        event = session.scalars(select(Event).where(Event.kind == "document_downloaded")).one()
    assert (event.actor, event.detail["sha256"], event.detail["document_id"]) == (LEAD, view.sha256, view.id)


def test_a_task_holder_sees_only_their_tasks_documents(docs_db: Database, docs_world: World) -> None:
    assert "draft_report" in [d.slot for d in documents.list_documents(docs_db, BU, docs_world.review, now=T0)]
    assert documents.list_documents(docs_db, POLICE, docs_world.review, now=T0) == []
    with pytest.raises(NotFound, match=f"document {docs_world.draft_id} not found"):
        documents.download(docs_db, POLICE, docs_world.review, docs_world.draft_id, now=T0)
    with pytest.raises(NotFound, match=f"instance {docs_world.review} not found"):
        documents.latest(docs_db, FIRE, docs_world.review)  # no task in this review


def test_the_case_page_lists_only_the_newest_version(docs_db: Database, docs_world: World) -> None:
    documents.upload(
        docs_db, BU, docs_world.review, "draft_report", "draft v2.pdf", files.pdf("Second draft"), now=T0, max_bytes=MAX
    )
    newest = [d for d in documents.latest(docs_db, BU, docs_world.review) if d.slot == "draft_report"]
    assert [(d.version, d.filename) for d in newest] == [(2, "draft v2.pdf")]
    every = documents.list_documents(docs_db, BU, docs_world.review, now=T0)
    assert sorted(d.version for d in every if d.slot == "draft_report") == [1, 2]
