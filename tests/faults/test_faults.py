"""Workers killed outright (SIGKILL) in the middle of load, then restarted, on SQLite and PostgreSQL.

What clients were told was done is in the database once; nothing is half-written; no event is
lost or doubled; a timer that fell due while no timer worker ran fires exactly once afterwards.
The processes are the deployment's own: gunicorn with two sync workers and ``cprflow timers worker``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import select

from bench import load
from cprflow import services
from cprflow.db.database import Database
from cprflow.db.models import Event, Instance
from tests.conftest import sample_diagrams
from tests.fixtures.consistency import assert_every_instance_whole, closed_tasks, completion_events

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police"],
}
#: The sample's manager approval sends a reminder one day after the case is recorded.
REMINDER = timedelta(days=1)


def _until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Poll for something a separate process does; fail, saying what, if it never happens."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _kill(process_id: int) -> None:
    os.kill(process_id, signal.SIGKILL)


def test_killing_a_web_worker_and_the_timer_worker_mid_load_loses_and_doubles_nothing(
    any_db: Database,
    tmp_path: Path,
) -> None:
    url = any_db.url
    people = load.prepare(url, staff=8)
    timers = load.timer_worker(url, tmp_path / "timers.log")
    tally = load.Tally()
    try:
        with load.gunicorn(url, workers=2, log=tmp_path / "gunicorn.log") as server:
            staff = threading.Thread(target=load.run, args=(server.url, people), kwargs={"actions": 40, "tally": tally})
            staff.start()
            for round_no in range(3):  # three web workers die at different moments; the timer worker once
                _until(lambda n=round_no: len(tally.completed) >= 10 + 15 * n, "the staff to get on with their work")
                victim = server.workers()[round_no % 2]
                _kill(victim)
                if round_no == 0:
                    _kill(timers.pid)
                    timers.wait()
                    timers = load.timer_worker(url, tmp_path / "timers.log")  # restarted, as a supervisor would
                # gunicorn's master replaces the dead web worker by itself.
                _until(
                    lambda gone=victim: gone not in server.workers() and len(server.workers()) == 2,
                    "a replacement web worker",
                )
            staff.join()
            after = requests.get(f"{server.url}/readyz", timeout=30)
            assert after.status_code == 200
    finally:
        timers.terminate()
        timers.wait(30)

    assert tally.server_errors == 0, tally.statuses
    events = completion_events(any_db)
    assert all(n == 1 for n in events.values()), {t: n for t, n in events.items() if n != 1}
    # Every completion a client got a 2xx for is there and closed...
    assert set(tally.completed) <= set(events) and set(tally.completed) <= closed_tasks(any_db)
    # ...and anything else completed is one whose answer was lost with the killed worker.
    assert set(events) - set(tally.completed) <= set(tally.unanswered)
    assert assert_every_instance_whole(any_db) >= len(tally.started)


def _recorded_at(db: Database, when: datetime) -> int:
    """A sample case recorded at ``when``: its reminder falls due at ``when + REMINDER``."""
    view = services.start_instance(db, "sample_case", {}, actor="intake", now=when)
    services.complete_task(db, view.open_tasks[0].id, CASE, actor="intake", now=when)
    return view.id


def _fired(db: Database) -> Counter[int]:
    with db.transaction(write=False) as session:
        return Counter(session.scalars(select(Event.instance_id).where(Event.kind == "timer_fired")).all())


def test_timers_due_while_the_timer_worker_was_dead_fire_exactly_once_after_restart(
    any_db: Database,
    tmp_path: Path,
) -> None:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=datetime.now(UTC))
    due_now = datetime.now(UTC) - REMINDER - timedelta(seconds=1)
    first = [_recorded_at(any_db, due_now) for _ in range(60)]
    log = tmp_path / "timers.log"
    worker = load.timer_worker(any_db.url, log)
    try:
        _until(lambda: len(_fired(any_db)) >= 3, "the worker to start firing")
        _kill(worker.pid)  # in the middle of the batch
        worker.wait()
        # While no worker runs, more timers fall due (made due already: the outage has lasted).
        during = [_recorded_at(any_db, datetime.now(UTC) - REMINDER - timedelta(seconds=1)) for _ in range(20)]
        assert len(_fired(any_db)) < len(first) + len(during)
        # Restarted, and with a second worker alongside, as the README allows.
        workers: list[subprocess.Popen[bytes]] = [load.timer_worker(any_db.url, log) for _ in range(2)]
        try:
            _until(lambda: set(_fired(any_db)) >= set(first + during), "every due timer to fire")
        finally:
            for restarted in workers:
                restarted.terminate()
                restarted.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    fired = _fired(any_db)
    assert {i: n for i, n in fired.items() if n != 1} == {}
    with any_db.transaction(write=False) as session:
        rows = session.execute(select(Instance.id, Instance.next_timer_at)).all()
    # Each reminder fired once; what is left is the escalation, still two days away.
    for instance_id, next_timer_at in rows:
        assert next_timer_at is not None and next_timer_at > datetime.now(UTC) + timedelta(days=1), instance_id
    assert assert_every_instance_whole(any_db) == len(first) + len(during)
