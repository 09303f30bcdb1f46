"""Races and several workers: one decision wins, each timer fires once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cprflow import engine, services
from cprflow.core.errors import Conflict
from cprflow.db.database import Database
from cprflow.db.models import Event, Instance
from cprflow.services import timers
from tests.conftest import T0, sample_diagrams

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police"],
}


def _start_recorded(db: Database) -> services.InstanceView:
    """An instance past intake, with an agency review, a manager approval and a reminder timer pending."""
    view = services.start_instance(db, "sample_case", {}, actor="bu", now=T0)
    return services.complete_task(db, view.open_tasks[0].id, CASE, actor="bu", now=T0)


def _run_together(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            results[i] = target(i)
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_completions_of_one_task_race_and_exactly_one_wins(
    any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    view = _start_recorded(any_db)
    approval = next(t for t in view.open_tasks if t.bpmn_id == "manager_approval")

    # Hold both completions after they have read the instance, so on PostgreSQL both really
    # race for the write; SQLite's writer lock makes the second wait, so the barrier times out.
    barrier = threading.Barrier(2, timeout=2)
    original = engine.Workflow.complete

    def complete_after_both_read(self: engine.Workflow, *args: Any, **kwargs: Any) -> Any:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return original(self, *args, **kwargs)

    monkeypatch.setattr(engine.Workflow, "complete", complete_after_both_read)
    decisions = ["approved", "rejected"]
    results = _run_together(
        2,
        lambda i: services.complete_task(
            any_db, approval.id, {"manager_decision": decisions[i]}, actor=f"manager{i}", now=T0 + timedelta(hours=1)
        ),
    )

    winners = [r for r in results if isinstance(r, services.InstanceView)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    after = services.get_instance(any_db, view.id)
    assert approval.id not in {t.id for t in after.open_tasks}
    events = services.list_events(any_db, view.id)
    completions = [e for e in events if e.kind == "task_completed" and e.task_id == approval.id]
    assert len(completions) == 1
    assert completions[0].detail["data"]["manager_decision"] == winners[0].data["manager_decision"]
    with any_db.transaction(write=False) as session:
        # start, intake, one approval: the version counter moved exactly three times.
        assert session.scalar(select(Instance.lock_version).where(Instance.id == view.id)) == 3


def test_two_timer_workers_fire_each_due_timer_exactly_once(any_db: Database) -> None:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    started = [_start_recorded(any_db).id for _ in range(12)]
    reminder_due = T0 + timedelta(days=1, minutes=1)
    workers = [Database(any_db.url), Database(any_db.url)]  # as two processes would have

    runs = _run_together(2, lambda i: timers.run_due(workers[i], now=reminder_due))
    for worker in workers:
        worker.dispose()

    assert all(isinstance(r, timers.TimerRun) for r in runs), runs
    fired = Counter(i for run in runs for i in run.fired)
    assert sorted(fired) == sorted(started)
    assert set(fired.values()) == {1}
    with any_db.transaction(write=False) as session:
        per_instance = Counter(session.scalars(select(Event.instance_id).where(Event.kind == "timer_fired")).all())
        assert per_instance == Counter({i: 1 for i in started})
        # Fired once and re-armed for the escalation, so a later run at the same moment finds nothing.
        assert session.scalar(select(func.count()).where(Instance.next_timer_at <= reminder_due)) == 0
    assert timers.run_due(any_db, now=reminder_due).fired == []
