"""The processes API: listing the deployed set, and deploying a changed one."""

from __future__ import annotations

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from tests.web.api.helpers import CHANGED_TRIAGE, TRIAGE, XXE_TRIAGE, Call, error_of, upload
from tests.web.conftest import db_state, in_review


def test_list_processes(call: Call) -> None:
    body = call("GET", "/api/processes", "reviewer", 200)
    assert body["version_id"] == 1
    assert {p["id"] for p in body["processes"]} == {"sample_case", "sample_followup"}


def test_deploy_a_changed_decision_table(call: Call, web_db: Database) -> None:
    running = in_review(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 201, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert body["created"] is True
    assert body["version_id"] == 2
    assert {p["id"] for p in body["processes"]} == {"sample_case", "sample_followup"}
    assert body["content_hash"] != services.list_versions(web_db)[1]["content_hash"]
    assert services.newest_files(web_db)["processes/triage.dmn"] == CHANGED_TRIAGE
    assert call("GET", "/api/processes", "owner", 200)["version_id"] == 2
    # New cases start on the new version; running ones stay on theirs.
    assert call("POST", "/api/instances", "intake", 201, json={"process": "sample_case"})["version_id"] == 2
    assert services.get_instance(web_db, running.id).version_id == 1

    again = call("POST", "/api/processes/deploy", "owner", 200, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert again == {
        **body,
        "created": False,
        "message": "unchanged: these files are version 2, which new reviews already start on",
    }
    assert len(services.list_versions(web_db)) == 2


def test_deploy_keeps_the_note_of_why(call: Call, web_db: Database) -> None:
    files = upload((CHANGED_TRIAGE, "triage.dmn"))
    files["data"]["note"] = "  Raise the triage threshold, agreed at the Sub-Group on 3 December  "
    body = call("POST", "/api/processes/deploy", "owner", 201, **files)
    newest = services.list_versions(web_db)[0]
    assert newest["id"] == body["version_id"]
    assert newest["note"] == "Raise the triage threshold, agreed at the Sub-Group on 3 December"


def test_deploy_refuses_a_note_too_long_and_deploys_nothing(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    files = upload((CHANGED_TRIAGE, "triage.dmn"))
    files["data"]["note"] = "x" * 2001
    body = call("POST", "/api/processes/deploy", "owner", 422, **files)
    assert list(error_of(body)["fields"]) == ["/note"]
    assert db_state(web_db) == before


def test_deploy_the_same_set_changes_nothing(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 200, **upload((TRIAGE, "triage.dmn")))
    assert body["created"] is False and body["version_id"] == 1
    assert db_state(web_db) == before


def test_deploy_refuses_external_entities(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 422, **upload((XXE_TRIAGE, "triage.dmn")))
    assert error_of(body)["code"] == "deploy_refused"
    assert any("triage.dmn" in name for name in error_of(body)["fields"]), error_of(body)["fields"]
    assert "root:" not in str(body)
    assert db_state(web_db) == before


@pytest.mark.parametrize("name", ["notes.txt", "../../etc/passwd", ".hidden.bpmn"])
def test_deploy_refuses_unusable_file_names(call: Call, web_db: Database, name: str) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 422, **upload((b"<x/>", name)))
    assert list(error_of(body)["fields"]) == ["/files"]
    assert db_state(web_db) == before


def test_deploy_without_files(call: Call) -> None:
    call("POST", "/api/processes/deploy", "owner", 400, data={}, content_type="multipart/form-data")


@pytest.mark.parametrize("who", ["intake", "manager", "auditor", "admin", "police"])
def test_deploy_needs_a_process_owner(call: Call, web_db: Database, who: str) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", who, 403, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert error_of(body)["code"] == "forbidden"
    assert db_state(web_db) == before
