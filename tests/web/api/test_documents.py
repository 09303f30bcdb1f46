"""A review's documents over the API and the pages: who may upload, list and download, what each
leaves in the trace, and what a refused request leaves (nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from cprflow.db.database import Database
from cprflow.db.models import Document, Event
from tests.conftest import T0
from tests.fixtures import files
from tests.scenarios.cpr import LEAD
from tests.web.casefiles_world import DRAFT_TEXT, PEOPLE, READERS, World, upload


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(Document)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
            session.scalar(text("SELECT count(*) FROM blobs")) or 0,
        )


def events_of(db: Database, kind: str) -> list[Event]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


# ---- who may do what: the table ---------------------------------------------------------------------


def may_upload(who: str, slot: str) -> int:
    """Readers (not auditors) file in any declared slot; others only what an open task of theirs asks for."""
    if who in READERS:  # reading the case is not acting for an agency: its own slots are refused
        return 403 if who == "auditor" or slot == "agency_timeline_police" else 201
    if who == "police":
        return 201 if slot == "agency_timeline_police" else 403
    return 404  # neither reads the case nor has a task in it: the review does not exist for them


CELLS = [
    (who, op)
    for who in PEOPLE
    for op in ("list", "download", "upload:final_report", "upload:agency_timeline_police", "upload:undeclared_slot")
]


#: Holds a task in the review (its timeline): reads the documents of that task's slot, nothing else.
HOLDERS = {"police"}


def expected(who: str, op: str) -> int:
    if op == "list":
        return 200 if who in READERS or who in HOLDERS else 404
    if op == "download":  # the draft report: no holder's task shows it
        return 200 if who in READERS else 404
    slot = op.split(":")[1]
    status = may_upload(who, slot)
    return 403 if slot == "undeclared_slot" and status == 201 else status


@pytest.mark.parametrize(("who", "op"), CELLS, ids=[f"{w}-{o}" for w, o in CELLS])
def test_document_access_by_role(
    docs_client: FlaskClient, docs_db: Database, bearer: Any, docs_world: World, who: str, op: str
) -> None:
    status = expected(who, op)
    before = counts(docs_db)
    base = f"/api/instances/{docs_world.review}/documents"
    if op == "list":
        response = docs_client.get(base, headers=bearer(who))
    elif op == "download":
        response = docs_client.get(f"{base}/{docs_world.draft_id}", headers=bearer(who))
    else:
        response = upload(docs_client, bearer(who), docs_world.review, op.split(":")[1], files.pdf("Timeline"))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    after = counts(docs_db)
    if status >= 400:
        assert response.get_json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]
        assert after == before  # nothing stored, nothing recorded
        return
    if op == "list":
        # The review's formal letter to Welsh Government is a case document too (notifications).
        listed = [(d["slot"], d["version"], d["filename"]) for d in response.get_json()["documents"]]
        assert listed == (
            []  # nothing filed yet in the slot of police's own task
            if who in HOLDERS
            else [("draft_report", 1, "draft.pdf"), ("wg_notification_letter", 1, "wg_notification_letter.pdf")]
        )
        assert [(e.kind, e.actor) for e in events_of(docs_db, "case_read")][-1] == ("case_read", who)
    elif op == "download":
        assert response.data == files.pdf(*DRAFT_TEXT)
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == "attachment; filename=draft.pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response.headers["Cache-Control"]
        downloaded = events_of(docs_db, "document_downloaded")
        assert [(e.actor, e.detail["document_id"], e.detail["version"]) for e in downloaded] == [
            (who, docs_world.draft_id, 1)
        ]
    else:
        body = response.get_json()
        assert (body["slot"], body["version"], body["uploaded_by"]) == (op.split(":")[1], 1, who)
        assert body["reference"] == {"document_id": body["id"], "version": 1, "filename": "report.pdf"}
        assert [(e.actor, e.detail["slot"]) for e in events_of(docs_db, "document_stored")][-1] == (who, body["slot"])
    assert after[1] == before[1] + 1  # exactly one event


def test_the_table_is_not_vacuous() -> None:
    for op in {o for _, o in CELLS}:
        outcomes = {expected(w, op) for w in PEOPLE}
        assert outcomes & {200, 201} or op == "upload:undeclared_slot", op
        assert outcomes & {403, 404}, op


# ---- the API's answers -----------------------------------------------------------------------------


def test_a_second_upload_is_the_next_version_and_the_list_shows_both(
    docs_client: FlaskClient, bearer: Any, docs_world: World
) -> None:
    first = upload(docs_client, bearer("bu"), docs_world.review, "final_report", files.docx("v1"), "final.docx")
    second = upload(docs_client, bearer("bu"), docs_world.review, "final_report", files.odt("v2"), "final.odt")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_json()["version"] == 2
    assert second.get_json()["content_type"] == "application/vnd.oasis.opendocument.text"
    listed = docs_client.get(f"/api/instances/{docs_world.review}/documents", headers=bearer("bu")).get_json()
    assert [(d["slot"], d["version"]) for d in listed["documents"]] == [
        ("draft_report", 1),
        ("final_report", 2),
        ("final_report", 1),
        ("wg_notification_letter", 1),
    ]


def test_a_document_of_another_review_is_not_found_through_this_one(
    docs_client: FlaskClient, bearer: Any, docs_world: World
) -> None:
    response = docs_client.get(
        f"/api/instances/{docs_world.review + 1}/documents/{docs_world.draft_id}", headers=bearer("admin")
    )
    assert response.status_code == 404
    response = docs_client.get(f"/api/instances/{docs_world.review}/documents/999", headers=bearer("admin"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "pointers"),
    [
        ({"slot": "final_report"}, ["/file"]),
        ({"file": (b"x", "a.pdf")}, ["/slot"]),
        ({"slot": "Final Report", "file": (b"x", "a.pdf")}, ["/slot"]),
    ],
)
def test_an_incomplete_upload_names_the_missing_part(
    docs_client: FlaskClient,
    docs_db: Database,
    bearer: Any,
    docs_world: World,
    data: dict[str, Any],
    pointers: list[str],
) -> None:
    import io

    before = counts(docs_db)
    if "file" in data:
        data = dict(data, file=(io.BytesIO(data["file"][0]), data["file"][1]))
    response = docs_client.post(
        f"/api/instances/{docs_world.review}/documents",
        data=data,
        headers=bearer("bu"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == pointers
    assert counts(docs_db) == before


def test_only_upload_routes_accept_documents_larger_than_a_request(
    docs_app: Any, docs_client: FlaskClient, bearer: Any, docs_world: World
) -> None:
    settings = docs_app.config["CPRFLOW"]
    assert settings.max_document_bytes < settings.max_request_bytes  # this world's limit is small: 256 KiB
    big = files.pdf("x" * 10) + b"%" + b"0" * (settings.max_request_bytes + 10)
    response = docs_client.post(
        f"/api/instances/{docs_world.review}/messages", data=big, headers=bearer("bu"), content_type="application/json"
    )
    assert response.status_code == 413


def test_a_form_cannot_point_at_another_slots_document(docs_db: Database, docs_world: World) -> None:
    from cprflow import services
    from cprflow.core.errors import InvalidData

    task = next(t for t in services.list_tasks(docs_db, instance_id=docs_world.review) if t.assignee == "police")
    reference = {"document_id": docs_world.draft_id, "version": 1, "filename": "draft.pdf"}
    data = {
        "timeline_events": [{"date": "2025-06-01", "event": "Visit", "significance": "low"}],
        "timeline_document": reference,
    }
    with pytest.raises(InvalidData) as refused:
        services.complete_task(docs_db, task.id, data, actor="police", now=T0)
    # The same answer as for an id that names nothing: the refusal does not say what else the case holds.
    unknown = {"/timeline_document": ["names no document of this review filed as 'agency_timeline_police'"]}
    assert refused.value.fields == unknown
    with pytest.raises(InvalidData) as refused:
        services.complete_task(
            docs_db, task.id, dict(data, timeline_document=dict(reference, document_id=999)), actor="police", now=T0
        )
    assert refused.value.fields == unknown


assert LEAD in READERS
