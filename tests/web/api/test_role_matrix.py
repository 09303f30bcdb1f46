"""Who may do what, generated from the sample's permissions.json: every role x operation x case.

The expected outcome of each cell is worked out here from the permissions data alone (plus the
product rules the data cannot change: auditors read everything and change nothing; admins read
everything and administer instances; whoever holds or held a task in a case reads that case, though
not its whole event history). Allowed -> 2xx with its effect; refused -> 403, or 404 where the
caller may not read the case (so as not to confirm that it exists), and nothing changed.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cprflow import services
from cprflow.db.database import Database
from tests.conftest import SAMPLE
from tests.web.conftest import (
    APPROVAL,
    CASE,
    CLOSURE,
    USERS,
    awaiting_closure,
    db_state,
    in_review,
    now,
    report,
    seal,
    started,
    task_of,
)

Call = Callable[..., Any]
PERMISSIONS: dict[str, Any] = json.loads((SAMPLE / "processes" / "permissions.json").read_text())
PRODUCT_READERS = {"auditor", "admin"}
CHANGED_TRIAGE = (SAMPLE / "processes" / "triage.dmn").read_bytes().replace(b"High risk score", b"Very high risk")


# ---------------------------------------------------------------------------------------------
# The oracle: what the permissions data says


def roles(username: str) -> set[str]:
    return set(USERS[username][0])


def agency(username: str) -> str | None:
    return USERS[username][1]


def read_only(username: str) -> bool:
    return "auditor" in roles(username) and "admin" not in roles(username)


def may_work(username: str, lane: str, assignee: str | None) -> bool:
    if read_only(username) or not roles(username) & set(PERMISSIONS["lanes"].get(lane, [])):
        return False
    rule = PERMISSIONS.get("assigned_lanes", {}).get(lane)
    if rule is None:
        return True
    return assignee is not None and assignee == (username if rule == "username" else agency(username))


def reads_whole(username: str, data: dict[str, Any]) -> bool:
    if roles(username) & (PRODUCT_READERS | set(PERMISSIONS.get("case_readers", []))):
        return True
    return any(
        role in roles(username) and username in (data.get(key) or [])
        for role, key in PERMISSIONS.get("appointed_readers", {}).items()
    )


def may_read(username: str, case: Case) -> bool:
    """Readers of the whole case, and whoever holds or held one of its tasks."""
    return reads_whole(username, case.data) or any(may_work(username, lane, who) for lane, who in case.every_task)


def may_start(username: str, process: str) -> bool:
    return not read_only(username) and bool(roles(username) & set(PERMISSIONS.get("starters", {}).get(process, [])))


def may_send(username: str, message: str) -> bool:
    senders = set(PERMISSIONS.get("message_senders", {}).get(message, []))
    return not read_only(username) and bool(roles(username) & senders)


# ---------------------------------------------------------------------------------------------
# The world every cell starts from: built once, copied for each test


APPOINTED = {"reviewers": ["reviewer"]}


@dataclass
class Case:
    instance_id: int
    data: dict[str, Any]
    tasks: dict[str, services.TaskView] = field(default_factory=dict)
    every_task: list[tuple[str, str | None]] = field(default_factory=list)  # (lane, assignee), closed ones too


@dataclass
class World:
    cases: dict[str, Case]

    def task(self, name: str) -> tuple[Case, services.TaskView]:
        case_name, task_name = name.split(":")
        return self.cases[case_name], self.cases[case_name].tasks[task_name]

    def open_tasks(self) -> list[tuple[Case, services.TaskView]]:
        return [(case, task) for case in self.cases.values() for task in case.tasks.values()]


@pytest.fixture(scope="module")
def world_file(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    path = tmp_path_factory.mktemp("world") / "cprflow.db"
    shutil.copyfile(template_db, path)
    db = Database(f"sqlite:///{path}")
    review = in_review(db)
    intake = started(db, APPOINTED)
    closing = awaiting_closure(db)
    closing_appointed = awaiting_closure(db, APPOINTED)
    world = World(
        {
            "review": Case(
                review.id,
                services.get_instance(db, review.id).data,
                {
                    "police_review": task_of(review, "agency_review", "police"),
                    "health_review": task_of(review, "agency_review", "health"),
                    "approval": task_of(review, "manager_approval"),
                },
            ),
            "intake": Case(intake.id, intake.data, {"record": task_of(intake, "record_case")}),
            "closing": Case(closing.id, closing.data),
            "closing_appointed": Case(closing_appointed.id, closing_appointed.data),
        }
    )
    with db.transaction(write=False) as session:
        rows = session.execute(text("SELECT instance_id, lane, assignee FROM user_tasks")).all()
    for case in world.cases.values():
        case.every_task = [(r.lane, r.assignee) for r in rows if r.instance_id == case.instance_id]
    seal(db)
    return path, world


@pytest.fixture
def db_template(world_file: tuple[Path, World]) -> Path:
    return world_file[0]


@pytest.fixture
def world(world_file: tuple[Path, World]) -> World:
    return world_file[1]


# ---------------------------------------------------------------------------------------------
# The operations: each says what the oracle expects, makes the request, and checks the effect


@dataclass(frozen=True)
class Cell:
    operation: str
    target: str  # a task "case:task", a case, a process, or "-"

    @property
    def id(self) -> str:
        return f"{self.operation}[{self.target}]"


TASKS = ["intake:record", "review:police_review", "review:health_review", "review:approval"]
TASK_DATA = {"record_case": CASE, "agency_review": report(), "manager_approval": APPROVAL}
CELLS = [
    Cell("list_tasks", "-"),
    Cell("list_instances", "-"),
    *[Cell(op, t) for op in ("get_task", "claim", "draft", "complete") for t in TASKS],
    *[Cell(op, c) for op in ("get_instance", "events") for c in ("review", "intake")],
    *[Cell("send_message", c) for c in ("closing", "closing_appointed")],
    *[Cell("start", p) for p in ("sample_case", "sample_followup")],
    *[Cell(op, "review") for op in ("suspend", "resume", "terminate")],
    Cell("deploy", "-"),
]


def expected_status(world: World, who: str, cell: Cell) -> int:
    op = cell.operation
    if op in ("list_tasks", "list_instances"):
        return 200
    if op in ("get_task", "claim", "draft", "complete"):
        case, task = world.task(cell.target)
        if may_work(who, task.lane or "", task.assignee):
            return 200
        return 403 if may_read(who, case) else 404
    if op == "get_instance":
        return 200 if may_read(who, world.cases[cell.target]) else 404
    if op == "events":
        return 200 if reads_whole(who, world.cases[cell.target].data) else 404
    if op == "send_message":
        if may_send(who, "case_closed"):
            return 200
        return 403 if may_read(who, world.cases[cell.target]) else 404
    if op == "start":
        return 201 if may_start(who, cell.target) else 403
    if op in ("suspend", "resume", "terminate"):
        return 200 if "admin" in roles(who) else 403
    if op == "deploy":
        return 201 if "process_owner" in roles(who) else 403
    raise AssertionError(op)


def request_of(world: World, cell: Cell) -> tuple[str, str, dict[str, Any]]:
    op = cell.operation
    if op == "list_tasks":
        return "GET", "/api/tasks", {}
    if op == "list_instances":
        return "GET", "/api/instances", {}
    if op in ("get_task", "claim", "draft", "complete"):
        _, task = world.task(cell.target)
        url = f"/api/tasks/{task.id}"
        return {
            "get_task": ("GET", url, {}),
            "claim": ("POST", f"{url}/claim", {}),
            "draft": ("POST", f"{url}/draft", {"json": {"data": {}}}),
            "complete": ("POST", f"{url}/complete", {"json": {"data": TASK_DATA[task.bpmn_id]}}),
        }[op]
    if op in ("get_instance", "events", "send_message", "suspend", "resume", "terminate"):
        url = f"/api/instances/{world.cases[cell.target].instance_id}"
        return {
            "get_instance": ("GET", url, {}),
            "events": ("GET", f"{url}/events", {}),
            "send_message": ("POST", f"{url}/messages", {"json": {"name": "case_closed", "payload": CLOSURE}}),
        }.get(op) or ("POST", f"{url}/{op}", {"json": {"reason": "matrix"}})
    if op == "start":
        return "POST", "/api/instances", {"json": {"process": cell.target}}
    if op == "deploy":
        return (
            "POST",
            "/api/processes/deploy",
            {"data": {"files": [(io.BytesIO(CHANGED_TRIAGE), "triage.dmn")]}, "content_type": "multipart/form-data"},
        )
    raise AssertionError(op)


def check_effect(world: World, db: Database, who: str, cell: Cell, body: Any, before: dict[str, Any]) -> None:
    """An allowed request did what it says, and (for reads) recorded the read and nothing else."""
    op = cell.operation
    if op == "list_tasks":
        expected = {t.id for case, t in world.open_tasks() if may_work(who, t.lane or "", t.assignee)}
        assert {t["id"] for t in body["tasks"]} == expected
    elif op == "list_instances":
        expected = {case.instance_id for case in world.cases.values() if may_read(who, case)}
        assert {i["id"] for i in body["instances"]} == expected and body["total"] == len(expected)
    if op in ("list_tasks", "list_instances"):
        assert db_state(db) == before
        return
    if op == "deploy":
        assert body["created"] is True and body["version_id"] == 2 and len(services.list_versions(db)) == 2
        return
    events = services.list_events(db, _instance_of(world, cell, body))
    new = [e for e in events if e.id > max((row[0] for row in before["events"]), default=0)]
    if op in ("get_task", "get_instance", "events"):
        assert [(e.kind, e.actor) for e in new] == [("case_read", who)]
        after = db_state(db)
        assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
        if op == "get_task":
            assert body["task"]["id"] == world.task(cell.target)[1].id
        return
    expected_kind = {
        "claim": "task_claimed",
        "draft": "draft_saved",
        "complete": "task_completed",
        "send_message": "message_received",
        "start": "started",
        "suspend": "status_changed",
        "resume": "status_changed",
        "terminate": "status_changed",
    }
    if op in expected_kind:
        assert [(e.kind, e.actor) for e in new] == [(expected_kind[op], who)]
    if op == "claim":
        assert body["claimed_by"] == who
    elif op == "complete":
        assert world.task(cell.target)[1].id not in {t["id"] for t in body["open_tasks"]}
    elif op == "send_message":
        assert [t["bpmn_id"] for t in body["open_tasks"]] == ["followup_visit"]
    elif op == "start":
        assert body["process_id"] == cell.target
    elif op in ("suspend", "resume", "terminate"):
        assert body["status"] == {"suspend": "suspended", "resume": "running", "terminate": "terminated"}[op]


def _instance_of(world: World, cell: Cell, body: Any) -> int:
    if cell.operation == "start":
        return int(body["id"])
    if ":" in cell.target:
        return world.task(cell.target)[0].instance_id
    return world.cases[cell.target].instance_id


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
@pytest.mark.parametrize("who", list(USERS))
def test_matrix(call: Call, world: World, web_db: Database, who: str, cell: Cell) -> None:
    if cell.operation == "resume":
        instance_id = world.cases[cell.target].instance_id
        services.set_status(web_db, instance_id, "suspend", reason="set up", actor="admin", now=now())
    status = expected_status(world, who, cell)
    method, url, options = request_of(world, cell)
    before = db_state(web_db)
    body = call(method, url, who, status, **options)
    if status < 300:
        check_effect(world, web_db, who, cell, body, before)
    else:
        assert body["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]
        assert db_state(web_db) == before


def test_matrix_is_not_vacuous(world: World) -> None:
    """Each operation is allowed to someone and refused to someone, so each cell type is tested both ways."""
    for operation in {c.operation for c in CELLS} - {"list_tasks", "list_instances"}:
        outcomes = {expected_status(world, who, c) for who in USERS for c in CELLS if c.operation == operation}
        assert outcomes & {200, 201} and outcomes & {403, 404}, (operation, outcomes)
    # the 404-not-403 rule and appointment are both exercised
    assert expected_status(world, "reviewer", Cell("get_instance", "intake")) == 200
    assert expected_status(world, "reviewer", Cell("get_instance", "review")) == 404
    assert expected_status(world, "reviewer", Cell("send_message", "closing_appointed")) == 403


# ---------------------------------------------------------------------------------------------
# The rules the brief singles out, spelled out


def test_agencies_see_and_complete_only_their_own_review(call: Call, world: World, web_db: Database) -> None:
    case, police = world.task("review:police_review")
    _, health = world.task("review:health_review")
    assert [t["id"] for t in call("GET", "/api/tasks", "police", 200)["tasks"]] == [police.id]
    assert [t["id"] for t in call("GET", "/api/tasks", "health", 200)["tasks"]] == [health.id]
    detail = call("GET", f"/api/tasks/{police.id}", "police", 200)
    assert detail["task"]["assignee"] == "police"
    assert "child_name" not in json.dumps(detail["data"])  # the form's fields only, not the case
    before = db_state(web_db)
    for method, suffix, options in (
        ("GET", "", {}),
        ("POST", "/claim", {}),
        ("POST", "/draft", {"json": {"data": {}}}),
        ("POST", "/complete", {"json": {"data": report()}}),
    ):
        call(method, f"/api/tasks/{health.id}{suffix}", "police", 403, **options)  # reads the case, not its task
    assert db_state(web_db) == before
    done = call("POST", f"/api/tasks/{police.id}/complete", "police", 200, json={"data": report("police report")})
    assert done["open_tasks"] == [] and set(done["data"]) <= {"stage"}  # where it stands, not the case
    assert [t["id"] for t in call("GET", "/api/tasks", "police", 200)["tasks"]] == []
    assert [t["id"] for t in call("GET", "/api/tasks", "health", 200)["tasks"]] == [health.id]
    call("POST", f"/api/tasks/{health.id}/complete", "health", 200, json={"data": report("health report")})
    data = services.get_instance(web_db, case.instance_id).data
    assert [r["summary"] for r in data["agency_reports"]] == ["police report", "health report"]


def test_auditors_read_everything(call: Call, world: World) -> None:
    listed = call("GET", "/api/instances", "auditor", 200)
    assert {i["id"] for i in listed["instances"]} == {c.instance_id for c in world.cases.values()}
    for case in world.cases.values():
        assert call("GET", f"/api/instances/{case.instance_id}", "auditor", 200)["id"] == case.instance_id
        assert call("GET", f"/api/instances/{case.instance_id}/events", "auditor", 200)["events"]


def test_auditors_change_nothing(call: Call, world: World, web_db: Database) -> None:
    review = world.cases["review"].instance_id
    _, approval = world.task("review:approval")
    closing = world.cases["closing"].instance_id
    services.set_status(web_db, world.cases["intake"].instance_id, "suspend", reason="set up", actor="admin", now=now())
    before = db_state(web_db)
    attempts: list[tuple[str, dict[str, Any], int]] = [
        ("/api/instances", {"json": {"process": "sample_case"}}, 403),
        (f"/api/instances/{closing}/messages", {"json": {"name": "case_closed", "payload": CLOSURE}}, 403),
        (f"/api/instances/{review}/suspend", {"json": {"reason": "r"}}, 403),
        (f"/api/instances/{world.cases['intake'].instance_id}/resume", {"json": {"reason": "r"}}, 403),
        (f"/api/instances/{review}/terminate", {"json": {"reason": "r"}}, 403),
        (f"/api/tasks/{approval.id}/claim", {}, 403),
        (f"/api/tasks/{approval.id}/unclaim", {}, 403),
        (f"/api/tasks/{approval.id}/draft", {"json": {"data": {}}}, 403),
        (f"/api/tasks/{approval.id}/complete", {"json": {"data": APPROVAL}}, 403),
        (
            "/api/processes/deploy",
            {"data": {"files": [(io.BytesIO(CHANGED_TRIAGE), "triage.dmn")]}, "content_type": "multipart/form-data"},
            403,
        ),
    ]
    for url, options, status in attempts:
        call("POST", url, "auditor", status, **options)
    assert call("GET", "/api/tasks", "auditor", 200) == {"tasks": []}  # nothing to act on
    assert db_state(web_db) == before


def test_admins_suspend_resume_and_terminate(call: Call, world: World, web_db: Database) -> None:
    url = f"/api/instances/{world.cases['review'].instance_id}"
    assert call("POST", f"{url}/suspend", "admin", 200, json={"reason": "court order"})["status"] == "suspended"
    assert call("POST", f"{url}/resume", "admin", 200, json={"reason": "lifted"})["status"] == "running"
    assert call("POST", f"{url}/terminate", "admin", 200, json={"reason": "duplicate"})["status"] == "terminated"
    assert services.list_tasks(web_db, instance_id=world.cases["review"].instance_id) == []
    # ...but work no lane, start nothing and send nothing: administering is not doing the review.
    _, record = world.task("intake:record")
    call("POST", f"/api/tasks/{record.id}/complete", "admin", 403, json={"data": CASE})
    call("POST", "/api/instances", "admin", 403, json={"process": "sample_case"})
