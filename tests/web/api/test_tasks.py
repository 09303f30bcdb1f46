"""The tasks API: listing and reading tasks, claiming, drafts and completing."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from tests.web.api.helpers import Call, error_of, kinds
from tests.web.conftest import APPROVAL, CASE, db_state, in_review, now, report, started, task_of


def test_list_tasks(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    other = started(web_db)
    approval = task_of(view, "manager_approval")
    assert [t["id"] for t in call("GET", "/api/tasks", "manager", 200)["tasks"]] == [approval.id]
    assert [t["id"] for t in call("GET", "/api/tasks", "intake", 200)["tasks"]] == [other.open_tasks[0].id]
    assert call("GET", f"/api/tasks?instance={view.id}", "intake", 200) == {"tasks": []}
    assert call("GET", "/api/tasks?lane=Manager", "intake", 200) == {"tasks": []}
    assert [t["id"] for t in call("GET", "/api/tasks?lane=Intake", "intake", 200)["tasks"]] == [other.open_tasks[0].id]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("instance=abc", "/instance"),
        ("instance=0", "/instance"),
        ("mine=1", "/mine"),
    ],
)
def test_list_tasks_bad_query(call: Call, query: str, pointer: str) -> None:
    assert list(error_of(call("GET", f"/api/tasks?{query}", "intake", 422))["fields"]) == [pointer]


def test_get_task_records_the_read(call: Call, web_db: Database) -> None:
    view = started(web_db)
    task = view.open_tasks[0]
    body = call("GET", f"/api/tasks/{task.id}", "intake", 200)
    assert body["task"]["id"] == task.id and body["task"]["bpmn_id"] == "record_case"
    assert "risk_score" in body["schema"]["properties"]
    assert body["ui_schema"]["ui:order"][0] == "child_name"
    assert body["data"] == {}
    last = services.list_events(web_db, view.id)[-1]
    assert (last.kind, last.actor, last.detail) == ("case_read", "intake", {"what": f"task {task.id}"})


def test_get_task_refused(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    before = db_state(web_db)
    call("GET", f"/api/tasks/{approval.id}", "intake", 403)  # reads the case, does not work this lane
    call("GET", f"/api/tasks/{approval.id}", "police", 403)  # holds another task of the case
    call("GET", f"/api/tasks/{approval.id}", "probation", 404)  # may not read the case
    call("GET", "/api/tasks/no-such-task", "intake", 404)
    assert db_state(web_db) == before


def test_closed_task(call: Call, web_db: Database) -> None:
    first = started(web_db)
    record = first.open_tasks[0]
    services.complete_task(web_db, record.id, CASE, actor="intake", now=now())
    body = call("GET", f"/api/tasks/{record.id}", "intake", 409)
    assert error_of(body)["code"] == "task_not_ready"


@pytest.mark.parametrize("endpoint", ["", "/claim", "/unclaim"])
def test_closed_task_of_an_unreadable_case_looks_missing(call: Call, web_db: Database, endpoint: str) -> None:
    """Probation may not read the case, so a closed task in it must look like no task at all."""
    record = started(web_db).open_tasks[0]
    services.complete_task(web_db, record.id, CASE, actor="intake", now=now())
    method = "GET" if not endpoint else "POST"
    missing = call(method, f"/api/tasks/no-such-task{endpoint}", "probation", 404)
    hidden = call(method, f"/api/tasks/{record.id}{endpoint}", "probation", 404)
    assert error_of(hidden)["code"] == error_of(missing)["code"]


def test_claim_and_unclaim(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    url = f"/api/tasks/{task.id}"
    assert call("POST", f"{url}/claim", "intake", 200)["claimed_by"] == "intake"
    assert call("POST", f"{url}/claim", "intake", 200)["claimed_by"] == "intake"  # again: still mine, nothing new
    before = db_state(web_db)
    for step, body_json in (
        ("/claim", None),
        ("/unclaim", None),
        ("/draft", {"data": {}}),
        ("/complete", {"data": CASE}),
    ):
        body = call("POST", url + step, "clerk", 409, json=body_json)
        assert "claimed by intake" in error_of(body)["message"]
    assert db_state(web_db) == before
    assert call("POST", f"{url}/unclaim", "intake", 200)["claimed_by"] is None
    assert call("POST", f"{url}/claim", "clerk", 200)["claimed_by"] == "clerk"
    assert [e.kind for e in services.list_events(web_db, task.instance_id)][1:] == [
        "task_claimed",
        "task_released",
        "task_claimed",
    ]


@pytest.mark.parametrize("step", ["claim", "unclaim"])
def test_claim_refused(call: Call, web_db: Database, step: str) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    before = db_state(web_db)
    call("POST", f"/api/tasks/{approval.id}/{step}", "intake", 403)
    call("POST", f"/api/tasks/{approval.id}/{step}", "auditor", 403)
    call("POST", f"/api/tasks/{approval.id}/{step}", "police", 403)  # holds another task of the case
    call("POST", f"/api/tasks/{approval.id}/{step}", "probation", 404)
    call("POST", f"/api/tasks/no-such-task/{step}", "manager", 404)
    assert db_state(web_db) == before


def test_draft(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    url = f"/api/tasks/{task.id}"
    saved = call("POST", f"{url}/draft", "intake", 200, json={"data": {"child_name": "Sam", "risk_score": 42}})
    assert saved["id"] == task.id
    # A draft is not checked against the form until completion.
    assert call("GET", url, "intake", 200)["data"] == {"child_name": "Sam", "risk_score": 42}
    assert "draft_saved" in kinds(web_db, task.instance_id)


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"data": {"child_name": {"typename": "x"}}}, 422, ["/data/child_name/typename"]),
        ("intake", {"data": "Sam"}, 422, ["/data"]),
        ("intake", {}, 422, ["/data"]),
        ("intake", {"data": {}, "autosave": True}, 422, ["/autosave"]),
        ("intake", '{"data": ', 400, []),
        ("manager", {"data": {}}, 403, []),
        ("auditor", {"data": {}}, 403, []),
        ("police", {"data": {}}, 404, []),
    ],
)
def test_draft_refused(call: Call, web_db: Database, who: str, json: Any, status: int, pointers: list[str]) -> None:
    task = started(web_db).open_tasks[0]
    before = db_state(web_db)
    options = {"data": json, "content_type": "application/json"} if isinstance(json, str) else {"json": json}
    body = call("POST", f"/api/tasks/{task.id}/draft", who, status, **options)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_complete(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    body = call("POST", f"/api/tasks/{task.id}/complete", "intake", 200, json={"data": CASE})
    assert body["data"]["priority"] == "urgent"
    assert sorted((t["bpmn_id"], t["assignee"]) for t in body["open_tasks"]) == [
        ("agency_review", "health"),
        ("agency_review", "police"),
        ("manager_approval", None),
    ]
    before = db_state(web_db)
    body = call("POST", f"/api/tasks/{task.id}/complete", "intake", 409, json={"data": CASE})  # twice
    assert error_of(body)["code"] == "task_not_ready"
    assert db_state(web_db) == before


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"data": {**CASE, "risk_score": "high"}}, 422, ["/data/risk_score"]),
        ("intake", {"data": {k: v for k, v in CASE.items() if k != "child_name"}}, 422, ["/data/child_name"]),
        ("intake", {"data": {**CASE, "favourite_colour": "red"}}, 422, ["/data/favourite_colour"]),
        ("intake", {"data": {**CASE, "referral_date": "yesterday"}}, 422, ["/data/referral_date"]),
        ("intake", {"data": {**CASE, "typename": "Task"}}, 422, ["/data/typename"]),
        ("intake", {"data": CASE, "comment": "done"}, 422, ["/comment"]),
        ("intake", {"data": [CASE]}, 422, ["/data"]),
        ("intake", [CASE], 400, []),
        ("manager", {"data": CASE}, 403, []),
        ("auditor", {"data": CASE}, 403, []),
        ("admin", {"data": CASE}, 403, []),
        ("probation", {"data": CASE}, 404, []),
    ],
)
def test_complete_refused(call: Call, web_db: Database, who: str, json: Any, status: int, pointers: list[str]) -> None:
    task = started(web_db).open_tasks[0]
    before = db_state(web_db)
    body = call("POST", f"/api/tasks/{task.id}/complete", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_complete_by_someone_who_may_not_read_the_case(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    police = task_of(view, "agency_review", "police")
    body = call("POST", f"/api/tasks/{police.id}/complete", "police", 200, json={"data": report("police report")})
    assert set(body["data"]) <= {"stage"} and body["waiting_for"] == [] and body["next_timer_at"] is None
    assert body["open_tasks"] == []  # health's review and the manager's approval are not police business
    health = task_of(view, "agency_review", "health")
    body = call("POST", f"/api/tasks/{health.id}/complete", "health", 200, json={"data": report("health report")})
    approval = task_of(view, "manager_approval")
    body = call("POST", f"/api/tasks/{approval.id}/complete", "manager", 200, json={"data": APPROVAL})
    assert body["status"] == "waiting"
    assert [r["summary"] for r in body["data"]["agency_reports"]] == ["police report", "health report"]


def test_reads_of_case_data_are_recorded(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    call("GET", f"/api/instances/{view.id}", "manager", 200)
    call("GET", f"/api/tasks/{approval.id}", "manager", 200)
    call("GET", f"/api/instances/{view.id}/events", "manager", 200)
    call("GET", "/api/instances", "manager", 200)  # a list of summaries: not a read of case data
    call("GET", "/api/tasks", "manager", 200)
    reads = [(e.actor, e.detail["what"]) for e in services.list_events(web_db, view.id) if e.kind == "case_read"]
    assert reads == [("manager", "instance"), ("manager", f"task {approval.id}"), ("manager", "events")]
