"""Opening a task: its form, values and facts come from the task index, never from the workflow."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cprflow import engine, services
from cprflow.core.access import Actor
from cprflow.db.database import Database
from cprflow.services import datafix
from tests.conftest import T0

CASE = {"referral_date": "2026-03-02", "risk_score": 9, "child_under_five": False, "agencies": ["police"]}


def _no_workflow_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("opening a task loaded the instance's workflow")

    monkeypatch.setattr(engine.Workflow, "load", refuse)


def test_opening_a_task_shows_its_values_without_loading_the_instance(
    deployed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = services.start_instance(deployed, "sample_case", {"child_name": "Sam"}, actor="bu", now=T0)
    task_id = view.open_tasks[0].id
    _no_workflow_loads(monkeypatch)

    detail = services.read_task(deployed, task_id, actor=Actor("clerk", frozenset({"business_unit"})), now=T0)

    assert detail.data == {"child_name": "Sam"}  # pre-filled from what the case knew when the task opened
    assert detail.task_data["child_name"] == "Sam"  # the earlier answers a form may show
    assert detail.task.lane == "Intake" and detail.task.due_at is not None
    assert detail.schema["title"] and detail.ui_schema is not None
    reads = [e for e in services.list_events(deployed, view.id) if e.kind == "case_read"]
    assert [(e.actor, e.detail) for e in reads] == [("clerk", {"what": f"task {task_id}"})]


def test_a_data_fix_reaches_the_open_form_and_a_closed_task_keeps_no_copy(
    deployed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = services.start_instance(deployed, "sample_case", {"child_name": "Sam"}, actor="bu", now=T0)
    task_id = view.open_tasks[0].id
    datafix.fix_data(deployed, view.id, {"child_name": "Alex"}, reason="misspelt", actor="admin", now=T0)
    with monkeypatch.context() as patched:
        _no_workflow_loads(patched)
        assert services.get_task(deployed, task_id).data == {"child_name": "Alex"}

    services.complete_task(deployed, task_id, {**CASE, "child_name": "Alex"}, actor="bu", now=T0)
    with deployed.engine.connect() as c:
        assert c.execute(text("SELECT data FROM user_tasks WHERE id = :id"), {"id": task_id}).scalar() is None


def test_a_task_indexed_before_its_data_was_kept_still_opens_with_its_values(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {"child_name": "Sam"}, actor="bu", now=T0)
    task_id = view.open_tasks[0].id
    with deployed.engine.begin() as c:  # as migration 0009 leaves the rows it finds
        c.execute(text("UPDATE user_tasks SET data = NULL WHERE id = :id"), {"id": task_id})
    assert services.get_task(deployed, task_id).data == {"child_name": "Sam"}
