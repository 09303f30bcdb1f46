"""The timer worker: it outlives diagram code that tries to end it, and says whether it is alive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import timers
from tests.conftest import ROOT, T0

FAILING = ROOT / "tests" / "fixtures" / "failing"


@pytest.fixture
def failing(db: Database) -> Database:
    services.deploy(db, diagram_set.read_directories(FAILING / "processes", FAILING / "forms"), actor="owner", now=T0)
    return db


def _until(condition: Callable[[], bool], what: str) -> None:
    stop = threading.Event()
    for _ in range(600):
        if condition():
            return
        stop.wait(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_the_worker_lives_on_after_a_timer_raises_system_exit_and_fires_later_timers(failing: Database) -> None:
    exits = services.start_instance(failing, "escape", {}, actor="clerk", now=T0)
    services.complete_task(failing, exits.open_tasks[0].id, {"divisor": 5}, actor="clerk", now=T0)
    now = [T0 + timedelta(hours=2)]
    stop = threading.Event()
    worker = threading.Thread(
        target=timers.work, kwargs={"db": failing, "poll_seconds": 0.05, "stop": stop, "clock": lambda: now[0]}
    )
    worker.start()
    try:
        _until(lambda: services.get_instance(failing, exits.id).status == "error", "the failing timer to run")
        assert worker.is_alive()
        # A timer that falls due afterwards still fires.
        later = services.start_instance(failing, "divide_later", {}, actor="clerk", now=now[0])
        services.complete_task(failing, later.open_tasks[0].id, {"divisor": 4}, actor="clerk", now=now[0])
        now[0] += timedelta(hours=2)
        _until(lambda: services.get_instance(failing, later.id).data.get("result") == 25, "the later timer to fire")
        assert worker.is_alive()
        assert not timers.workers_dead(failing, now=now[0])
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def test_a_worker_that_stops_beating_counts_as_dead_and_one_that_stops_cleanly_does_not(db: Database) -> None:
    assert not timers.workers_dead(db, now=T0)  # no timer worker has ever run here

    timers.beat(db, "timers:a", now=T0, poll_seconds=1)
    assert not timers.workers_dead(db, now=T0 + timedelta(seconds=30))
    assert timers.workers_dead(db, now=T0 + timedelta(minutes=5))

    timers.beat(db, "timers:b", now=T0 + timedelta(minutes=5), poll_seconds=1)  # a replacement started
    assert not timers.workers_dead(db, now=T0 + timedelta(minutes=5, seconds=30))

    timers.stopped(db, "timers:a")
    timers.stopped(db, "timers:b")
    assert not timers.workers_dead(db, now=T0 + timedelta(hours=1))


def test_a_long_batch_of_timers_keeps_saying_the_worker_is_alive(failing: Database) -> None:
    for _ in range(3):
        started = services.start_instance(failing, "divide_later", {}, actor="clerk", now=T0)
        services.complete_task(failing, started.open_tasks[0].id, {"divisor": 4}, actor="clerk", now=T0)
    signs: list[int] = []

    run = timers.run_due(failing, now=T0 + timedelta(hours=2), alive=lambda: signs.append(1))

    assert len(run.fired) == 3
    assert len(signs) >= 3  # before each timer's transaction, so a worker's heartbeat can be kept up
