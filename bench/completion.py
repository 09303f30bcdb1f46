"""Per-task completion, three ways on the same sample diagrams in the same run, interleaved so that a
machine growing busier or quieter weighs on all alike:

- bare SpiffWorkflow: load the JSON state, complete the task, run engine steps, save the JSON;
- cprflow's service layer: ``services.complete_task`` on SQLite (transaction, state row, task
  index, event, sandboxed expressions);
- cprflow's HTTP API: ``POST /api/tasks/<id>/complete`` with a bearer token, through Flask's test
  client (in-process: the WSGI app, authentication, access checks, marshmallow and JSON included,
  no sockets), on the same SQLite database.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime

from bench.bare import FORM_DATA, SAMPLE, bare_engine
from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.diagrams.diagram_set import read_directories
from cprflow.services import users
from cprflow.web import create_app

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Who completes which task through the API (the sample's lanes: Intake, Agencies by agency, Manager).
ACCOUNTS = {
    "intake": (["business_unit"], None),
    "manager": (["review_subgroup"], None),
    "police": (["agency"], "police"),
    "health": (["agency"], "health"),
}


def _who(bpmn_id: str, assignee: str | None) -> str:
    return {"record_case": "intake", "manager_approval": "manager"}.get(bpmn_id) or assignee or "intake"


def bench_completion(instances: int, rounds: int) -> dict[str, float]:
    """Median seconds per completed task: ``bare``, ``service`` and ``http``."""
    start, ready, complete = bare_engine()
    times: dict[str, list[float]] = {"bare": [], "service": [], "http": []}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        services.deploy(db, read_directories(SAMPLE / "processes", SAMPLE / "forms"), actor="bench", now=T0)
        for username, (roles, agency) in ACCOUNTS.items():
            users.add_user(db, username, password=f"bench-{username}-pw", roles=roles, agency=agency, now=T0)
        client = create_app(Settings(database_url=db.url, secret_key="bench-" + "k" * 32), db=db).test_client()
        headers = {}
        for username in ACCOUNTS:
            token = client.post("/api/auth/token", json={"username": username, "password": f"bench-{username}-pw"})
            headers[username] = {"Authorization": f"Bearer {token.get_json()['token']}"}
        for _ in range(rounds):
            for _ in range(instances):
                state = start()
                while tasks := ready(state):
                    began = time.perf_counter()
                    state = complete(state, tasks[0])
                    times["bare"].append(time.perf_counter() - began)
                view = services.start_instance(db, "sample_case", {}, actor="bench", now=T0)
                while view.open_tasks:
                    task = view.open_tasks[0]
                    began = time.perf_counter()
                    view = services.complete_task(db, task.id, FORM_DATA[task.bpmn_id], actor="bench", now=T0)
                    times["service"].append(time.perf_counter() - began)
                body = client.post(
                    "/api/instances", json={"process": "sample_case", "data": {}}, headers=headers["intake"]
                ).get_json()
                while body["open_tasks"]:
                    task = body["open_tasks"][0]
                    began = time.perf_counter()
                    response = client.post(
                        f"/api/tasks/{task['id']}/complete",
                        json={"data": FORM_DATA[task["bpmn_id"]]},
                        headers=headers[_who(task["bpmn_id"], task["assignee"])],
                    )
                    times["http"].append(time.perf_counter() - began)
                    assert response.status_code == 200, response.get_json()
                    # The answer lists only tasks the completer may see: ask as the intake clerk.
                    body = client.get(f"/api/instances/{task['instance_id']}", headers=headers["intake"]).get_json()
        db.dispose()
    return {kind: statistics.median(values) for kind, values in times.items()}
