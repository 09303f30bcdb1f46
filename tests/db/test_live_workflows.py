"""Workflows kept live between steps (``store.LiveWorkflows``): the next step on a review starts from
the workflow its worker last saved, never from one that another worker, a failed step or a data fix
has since left behind, and a review worked with them ends as one worked without them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cprflow import services
from cprflow.db import store
from cprflow.db.database import Database
from cprflow.services import datafix
from tests.conftest import T0
from tests.web.conftest import CASE, report


def open_task(db: Database, instance_id: int, bpmn_id: str, assignee: str | None = None) -> str:
    view = services.get_instance(db, instance_id)
    found = [t.id for t in view.open_tasks if t.bpmn_id == bpmn_id and (assignee is None or t.assignee == assignee)]
    assert len(found) == 1, [(t.bpmn_id, t.assignee) for t in view.open_tasks]
    return found[0]


def open_ones(db: Database, instance_id: int) -> list[tuple[str, str | None]]:
    return sorted((t.bpmn_id, t.assignee) for t in services.get_instance(db, instance_id).open_tasks)


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> store.LiveWorkflows:
    """This test's worker: its own live workflows, as a gunicorn worker process has."""
    live = store.LiveWorkflows(8)
    monkeypatch.setattr(store, "LIVE", live)
    return live


def started(db: Database) -> int:
    view = services.start_instance(db, "sample_case", {}, actor="bu", now=T0)
    services.complete_task(db, view.open_tasks[0].id, CASE, actor="bu", now=T0 + timedelta(minutes=1))
    return view.id


def test_the_next_step_on_a_review_starts_from_the_workflow_its_worker_saved(
    deployed: Database, worker: store.LiveWorkflows
) -> None:
    review = started(deployed)
    assert (worker.hits, worker.misses) == (1, 0)  # the completion after the start restored nothing
    police = open_task(deployed, review, "agency_review", "police")
    services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=2))
    assert (worker.hits, worker.misses) == (2, 0)
    assert open_ones(deployed, review) == [("agency_review", "health"), ("manager_approval", None)]


def test_a_review_another_worker_moved_on_is_restored_from_the_database(
    deployed: Database, worker: store.LiveWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = started(deployed)  # this worker keeps the review as it left it: both agencies to report
    other = store.LiveWorkflows(8)
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(store, "LIVE", other)
        police = open_task(deployed, review, "agency_review", "police")
        services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=2))
    health = open_task(deployed, review, "agency_review", "health")
    services.complete_task(deployed, health, report("health"), actor="health", now=T0 + timedelta(minutes=3))
    assert worker.misses == 1  # what it kept was no longer what the review had saved
    assert open_ones(deployed, review) == [("manager_approval", None)]  # the police's report is not lost
    data = services.get_instance(deployed, review).data
    assert [r["summary"] for r in data["agency_reports"]] == ["police", "health"]


def test_a_step_that_fails_after_its_save_leaves_nothing_behind(
    deployed: Database, worker: store.LiveWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = started(deployed)
    police = open_task(deployed, review, "agency_review", "police")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the event log is unwritable")

    with monkeypatch.context() as failing:
        failing.setattr("cprflow.services.tasks.record_event", broken)
        with pytest.raises(RuntimeError):
            services.complete_task(deployed, police, report("lost"), actor="police", now=T0 + timedelta(minutes=2))
    assert open_ones(deployed, review) == [
        ("agency_review", "health"),
        ("agency_review", "police"),
        ("manager_approval", None),
    ]
    # The half-done step's workflow is gone: the police's task is still theirs to complete.
    services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=3))
    assert open_ones(deployed, review) == [("agency_review", "health"), ("manager_approval", None)]
    health = open_task(deployed, review, "agency_review", "health")
    view = services.complete_task(deployed, health, report("health"), actor="health", now=T0 + timedelta(minutes=4))
    assert [r["summary"] for r in view.data["agency_reports"]] == ["police", "health"]  # not "lost"


def test_a_data_fix_is_seen_by_the_next_step(deployed: Database, worker: store.LiveWorkflows) -> None:
    review = started(deployed)
    datafix.fix_data(deployed, review, {"child_name": "Alex"}, reason="misspelt", actor="admin", now=T0)
    police = open_task(deployed, review, "agency_review", "police")
    view = services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=2))
    assert view.data["child_name"] == "Alex"


def test_a_review_ends_the_same_whether_or_not_its_workflow_stays_live(
    deployed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def work() -> tuple[Any, ...]:
        review = started(deployed)
        for n, agency in enumerate(("police", "health")):
            task = open_task(deployed, review, "agency_review", agency)
            services.complete_task(deployed, task, report(agency), actor=agency, now=T0 + timedelta(minutes=2 + n))
        approval = open_task(deployed, review, "manager_approval")
        view = services.complete_task(
            deployed, approval, {"manager_decision": "approved"}, actor="manager", now=T0 + timedelta(minutes=5)
        )
        events = [(e.kind, e.detail.get("bpmn_id")) for e in services.list_events(deployed, review)]
        return view.status, view.data, open_ones(deployed, review), events

    kept = store.LiveWorkflows(8)
    monkeypatch.setattr(store, "LIVE", kept)
    live = work()
    monkeypatch.setattr(store, "LIVE", store.LiveWorkflows(0))
    restored = work()
    assert kept.hits == 4 and live == restored


def test_a_worker_keeps_at_most_its_capacity_the_least_recently_saved_going_first(
    deployed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = store.LiveWorkflows(1)
    monkeypatch.setattr(store, "LIVE", live)
    first, second = started(deployed), started(deployed)  # the second review pushed the first out
    for review in (first, second):
        police = open_task(deployed, review, "agency_review", "police")
        services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=2))
    # Each start's next step found its review; then each review had pushed the other out.
    assert (live.hits, live.misses) == (2, 2)
    monkeypatch.setenv("CPRFLOW_LIVE_WORKFLOWS", "0")
    none = store.LiveWorkflows()  # as a worker started with the setting reads it
    monkeypatch.setattr(store, "LIVE", none)
    review = started(deployed)
    police = open_task(deployed, review, "agency_review", "police")
    services.complete_task(deployed, police, report("police"), actor="police", now=T0 + timedelta(minutes=2))
    assert (none.hits, none.misses) == (0, 2)
