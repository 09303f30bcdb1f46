"""The timer worker: fires what falls due while it runs, and stops when told."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from cprflow import services
from cprflow.db.database import Database
from cprflow.services import timers
from tests.conftest import T0

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police"],
}


def test_worker_fires_a_timer_that_falls_due_while_it_runs(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    view = services.complete_task(deployed, view.open_tasks[0].id, CASE, actor="bu", now=T0)
    reminder_due = view.next_timer_at
    assert reminder_due == T0 + timedelta(days=1)

    # The worker's clock jumps past the reminder after its first look; it must notice by itself.
    moments = iter([T0 + timedelta(hours=1), reminder_due + timedelta(seconds=1)])
    last: list[datetime] = []

    def clock() -> datetime:
        last.append(next(moments, last[-1] if last else T0))
        return last[-1]

    stop = threading.Event()
    worker = threading.Thread(
        target=timers.work, kwargs={"db": Database(deployed.url), "poll_seconds": 0.05, "stop": stop, "clock": clock}
    )
    worker.start()
    try:
        for _ in range(200):
            if any(e.kind == "timer_fired" for e in services.list_events(deployed, view.id)):
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive(), "the worker did not stop when told"
    fired = [e for e in services.list_events(deployed, view.id) if e.kind == "timer_fired"]
    assert len(fired) == 1 and fired[0].detail["timers"] == ["reminder_timer"]


def test_next_due_is_the_earliest_timer_of_active_instances(deployed: Database) -> None:
    assert timers.next_due(deployed) is None
    first = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    services.complete_task(deployed, first.open_tasks[0].id, CASE, actor="bu", now=T0)
    second = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    services.complete_task(deployed, second.open_tasks[0].id, CASE, actor="bu", now=T0 + timedelta(hours=5))
    assert timers.next_due(deployed) == T0 + timedelta(days=1)
    services.set_status(deployed, first.id, "suspend", reason="inquest", actor="admin", now=T0)
    assert timers.next_due(deployed) == T0 + timedelta(days=1, hours=5)  # a suspended case's timers wait
