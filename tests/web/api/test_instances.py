"""The instances API: starting, listing and reading cases, messages, and status changes."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from tests.web.api.helpers import Call, error_of, kinds
from tests.web.conftest import APPROVAL, CASE, CLOSURE, awaiting_closure, db_state, in_review, now, started, task_of


def test_start(call: Call, web_db: Database) -> None:
    body = call("POST", "/api/instances", "intake", 201, json={"process": "sample_case", "data": {"source": "phone"}})
    assert body["status"] == "running"
    assert body["process_id"] == "sample_case"
    assert body["data"] == {"source": "phone"}
    (task,) = body["open_tasks"]
    assert (task["bpmn_id"], task["lane"], task["form"]) == ("record_case", "Intake", "record_case.schema.json")
    assert kinds(web_db, body["id"]) == ["started"]


@pytest.mark.parametrize(
    ("who", "process", "status"),
    [
        ("manager", "sample_case", 403),
        ("auditor", "sample_case", 403),
        ("admin", "sample_case", 403),
        ("police", "sample_case", 403),
        ("intake", "no_such_process", 404),
    ],
)
def test_start_refused(call: Call, web_db: Database, who: str, process: str, status: int) -> None:
    before = db_state(web_db)
    call("POST", "/api/instances", who, status, json={"process": process})
    assert db_state(web_db) == before


@pytest.mark.parametrize(
    ("options", "status", "pointers"),
    [
        ({"json": []}, 400, []),
        ({"data": "process=sample_case", "content_type": "application/x-www-form-urlencoded"}, 400, []),
        ({"json": {}}, 422, ["/process"]),
        ({"json": {"process": "sample_case", "colour": "red"}}, 422, ["/colour"]),
        ({"json": {"process": 7}}, 422, ["/process"]),
        ({"json": {"process": "sample_case", "data": ["a"]}}, 422, ["/data"]),
        ({"json": {"process": "sample_case", "data": {"typename": "Task"}}}, 422, ["/data/typename"]),
        ({"json": {"process": "sample_case", "data": {"a": [{"typename": "x"}]}}}, 422, ["/data/a/0/typename"]),
    ],
)
def test_start_bad_requests(
    call: Call,
    web_db: Database,
    options: dict[str, Any],
    status: int,
    pointers: list[str],
) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/instances", "intake", status, **options)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_list_instances(call: Call, web_db: Database) -> None:
    first, second = in_review(web_db), started(web_db)
    body = call("GET", "/api/instances", "manager", 200)
    assert [i["id"] for i in body["instances"]] == [second.id, first.id]  # newest first
    assert body["total"] == 2 and body["page"] == 1
    assert set(body["instances"][0]) == {"id", "process_id", "version_id", "status", "stage", "updated_at"}
    assert call("GET", "/api/instances?status=waiting", "manager", 200)["total"] == 0
    assert call("GET", "/api/instances?process=sample_case&status=running", "manager", 200)["total"] == 2
    assert call("GET", "/api/instances?page=2", "manager", 200) == {"instances": [], "total": 2, "page": 2}
    assert call("GET", "/api/instances", "probation", 200) == {"instances": [], "total": 0, "page": 1}
    # An agency given a task in a case reads that case, and only the facts its task shows.
    held = call("GET", "/api/instances", "police", 200)
    assert (held["total"], [i["id"] for i in held["instances"]]) == (1, [first.id])


def test_a_task_holder_reads_the_facts_of_their_task_and_their_own_tasks(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}", "police", 200)
    assert set(body["data"]) <= {"stage"}  # where the case stands; what the task decides on is on its form
    assert [(t["bpmn_id"], t["assignee"]) for t in body["open_tasks"]] == [("agency_review", "police")]
    call("GET", f"/api/instances/{view.id}/events", "police", 404)  # every event: readers of the whole case only


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("status=sleeping", "/status"),
        ("page=0", "/page"),
        ("page=x", "/page"),
        ("sort=id", "/sort"),
    ],
)
def test_list_instances_bad_query(call: Call, query: str, pointer: str) -> None:
    body = call("GET", f"/api/instances?{query}", "manager", 422)
    assert list(error_of(body)["fields"]) == [pointer]


def test_get_instance_records_the_read(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}", "manager", 200)
    assert body["data"]["priority"] == "urgent"
    assert body["status"] == "running"
    assert sorted(t["bpmn_id"] for t in body["open_tasks"]) == ["agency_review", "agency_review", "manager_approval"]
    last = services.list_events(web_db, view.id)[-1]
    assert (last.kind, last.actor, last.detail) == ("case_read", "manager", {"what": "instance"})


def test_unreadable_instance_looks_like_a_missing_one(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    missing = call("GET", "/api/instances/999", "probation", 404)
    hidden = call("GET", f"/api/instances/{view.id}", "probation", 404)
    assert error_of(hidden) == {**error_of(missing), "message": f"instance {view.id} not found"}
    assert error_of(missing)["message"] == "instance 999 not found"
    for url in (f"/api/instances/{view.id}/events", "/api/instances/999/events"):
        call("GET", url, "probation", 404)
    assert "case_read" not in kinds(web_db, view.id)


def test_events(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}/events", "auditor", 200)
    assert [e["kind"] for e in body["events"]] == ["started", "task_completed"]
    assert body["page"] == 1
    recorded = body["events"][1]["detail"]["data"]  # what was submitted, and what the system knew
    assert {k: v for k, v in recorded.items() if not k.startswith("completed_")} == CASE
    assert (recorded["completed_by"], recorded["completed_by_agency"]) == ("intake", None)
    again = call("GET", f"/api/instances/{view.id}/events", "auditor", 200)
    assert [e["kind"] for e in again["events"]] == ["started", "task_completed", "case_read"]
    assert again["events"][2]["actor"] == "auditor" and again["events"][2]["detail"] == {"what": "events"}
    assert call("GET", f"/api/instances/{view.id}/events?page=2", "auditor", 200) == {"events": [], "page": 2}
    call("GET", f"/api/instances/{view.id}/events?page=nope", "auditor", 422)


def test_send_message(call: Call, web_db: Database) -> None:
    view = awaiting_closure(web_db)
    message = {"name": "case_closed", "payload": CLOSURE}
    body = call("POST", f"/api/instances/{view.id}/messages", "intake", 200, json=message)
    assert body["status"] == "running"
    assert [t["bpmn_id"] for t in body["open_tasks"]] == ["followup_visit"]
    assert body["waiting_for"] == []
    assert kinds(web_db, view.id)[-1] == "message_received"


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"name": "case_closed", "payload": CLOSURE}, 409, []),  # nothing waits for it yet
        ("manager", {"name": "case_closed", "payload": CLOSURE}, 403, []),  # reads the case, may not send
        ("auditor", {"name": "case_closed", "payload": CLOSURE}, 403, []),
        ("intake", {"name": "something_else"}, 403, []),
        ("probation", {"name": "case_closed", "payload": CLOSURE}, 404, []),  # may not read the case
        ("police", {"name": "case_closed", "payload": CLOSURE}, 403, []),  # held a task in it, may not send
        ("intake", {"name": "case_closed", "payload": {"typename": "x"}}, 422, ["/payload/typename"]),
        ("intake", {"name": "case_closed", "urgent": True}, 422, ["/urgent"]),
        ("intake", {"payload": CLOSURE}, 422, ["/name"]),
        ("intake", {"name": "case_closed", "payload": "closed"}, 422, ["/payload"]),
        ("intake", ["case_closed"], 400, []),
    ],
)
def test_send_message_refused(
    call: Call,
    web_db: Database,
    who: str,
    json: Any,
    status: int,
    pointers: list[str],
) -> None:
    view = in_review(web_db)
    before = db_state(web_db)
    body = call("POST", f"/api/instances/{view.id}/messages", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_send_message_to_an_unknown_instance(call: Call) -> None:
    call("POST", "/api/instances/999/messages", "intake", 404, json={"name": "case_closed"})


def test_suspend_resume_terminate(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    url = f"/api/instances/{view.id}"
    assert call("POST", f"{url}/suspend", "admin", 200, json={"reason": "court order"})["status"] == "suspended"
    assert call("GET", f"/api/tasks?instance={view.id}", "manager", 200) == {"tasks": []}  # suspended tasks wait
    body = call("POST", f"{url}/suspend", "admin", 409, json={"reason": "again"})
    assert error_of(body)["code"] == "instance_not_active"
    assert call("POST", f"{url}/resume", "admin", 200, json={"reason": "order lifted"})["status"] == "running"
    call("POST", f"{url}/resume", "admin", 409, json={"reason": "not suspended"})
    body = call("POST", f"{url}/terminate", "admin", 200, json={"reason": "duplicate referral"})
    assert body["status"] == "terminated" and body["open_tasks"] == []
    call("POST", f"{url}/terminate", "admin", 409, json={"reason": "again"})
    changes = [e.detail for e in services.list_events(web_db, view.id) if e.kind == "status_changed"]
    assert [(c["action"], c["reason"]) for c in changes] == [
        ("suspend", "court order"),
        ("resume", "order lifted"),
        ("terminate", "duplicate referral"),
    ]


def test_a_suspended_case_takes_no_work(call: Call, web_db: Database) -> None:
    view = awaiting_closure(web_db)
    other = in_review(web_db)
    for instance_id in (view.id, other.id):
        services.set_status(web_db, instance_id, "suspend", reason="hold", actor="admin", now=now())
    before = db_state(web_db)
    message = {"name": "case_closed", "payload": CLOSURE}
    body = call("POST", f"/api/instances/{view.id}/messages", "intake", 409, json=message)
    assert error_of(body)["code"] == "instance_not_active"
    approval = task_of(other, "manager_approval")
    body = call("POST", f"/api/tasks/{approval.id}/complete", "manager", 409, json={"data": APPROVAL})
    assert error_of(body)["code"] == "instance_not_active"
    assert db_state(web_db) == before


@pytest.mark.parametrize("action", ["suspend", "resume", "terminate"])
@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"reason": "r"}, 403, []),
        ("auditor", {"reason": "r"}, 403, []),
        ("admin", {}, 422, ["/reason"]),
        ("admin", {"reason": ""}, 422, ["/reason"]),
        ("admin", {"reason": "   "}, 422, ["/reason"]),
        ("admin", {"reason": "x" * 2001}, 422, ["/reason"]),
        ("admin", {"reason": "r", "force": True}, 422, ["/force"]),
        ("admin", {"reason": 5}, 422, ["/reason"]),
        ("admin", "suspend it", 400, []),
    ],
)
def test_status_changes_refused(
    call: Call,
    web_db: Database,
    action: str,
    who: str,
    json: Any,
    status: int,
    pointers: list[str],
) -> None:
    view = in_review(web_db)
    if action == "resume":
        services.set_status(web_db, view.id, "suspend", reason="set up", actor="admin", now=now())
    before = db_state(web_db)
    body = call("POST", f"/api/instances/{view.id}/{action}", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


@pytest.mark.parametrize("action", ["suspend", "resume", "terminate"])
def test_status_change_of_an_unknown_instance(call: Call, action: str) -> None:
    call("POST", f"/api/instances/999/{action}", "admin", 404, json={"reason": "r"})
