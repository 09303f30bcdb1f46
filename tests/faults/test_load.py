"""The load test's bounded smoke form: staff working reviews through gunicorn with 2 workers on PostgreSQL.

Bounded by steps, not by time: each simulated person takes a fixed number of actions. The longer,
timed form is ``make load`` (``python -m bench.load``), whose figures go in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import load
from cprflow.db.database import Database
from tests.fixtures.consistency import assert_every_instance_whole, closed_tasks, completion_events

pytestmark = pytest.mark.postgres


def test_staff_working_reviews_through_two_workers_get_no_server_errors_and_every_completion_lands_once(
    postgres_url: str,
    tmp_path: Path,
) -> None:
    people = load.prepare(postgres_url, staff=10)
    timers = load.timer_worker(postgres_url, tmp_path / "timers.log")
    try:
        with load.gunicorn(postgres_url, workers=2, log=tmp_path / "gunicorn.log") as server:
            tally = load.run(server.url, people, actions=12)
    finally:
        timers.terminate()
        timers.wait(30)

    assert tally.server_errors == 0, tally.statuses
    assert not tally.errors and not tally.unanswered, tally.errors
    assert tally.started and tally.completed
    db = Database(postgres_url)
    try:
        events = completion_events(db)
        # What the clients were told was done is done, once; and nothing else was.
        assert set(events) == set(tally.completed) and len(tally.completed) == len(set(tally.completed))
        assert all(n == 1 for n in events.values()), [t for t, n in events.items() if n != 1]
        assert set(tally.completed) <= closed_tasks(db)
        assert assert_every_instance_whole(db) == len(tally.started)
    finally:
        db.dispose()
