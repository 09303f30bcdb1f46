"""Timer lateness with the default worker: ``cprflow timers worker`` (poll at most every second) is
started for real, sample cases are recorded whose reminder falls due a few seconds later on the
wall clock, and the benchmark watches the database for each ``timer_fired`` event.

Lateness is when the firing was seen committed minus when the timer was due, so the watcher's own
polling (every 10 ms) is included: an upper bound on what a user could notice.
"""

from __future__ import annotations

import signal
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bench.bare import CASE, SAMPLE
from bench.load import timer_worker
from cprflow import services
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.diagrams.diagram_set import read_directories

REMINDER = timedelta(days=1)  # the sample's manager approval reminds one day after the case is recorded


def _fired(db: Database) -> set[int]:
    with db.transaction(write=False) as session:
        return set(session.scalars(select(Event.instance_id).where(Event.kind == "timer_fired")).all())


def bench_lateness(timers: int = 20, spread_s: float = 4.0, lead_s: float = 2.0) -> dict[str, float]:
    """Seconds late (``median``, ``max``) over ``timers`` timers due over ``spread_s`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'lateness.db'}"
        db = Database(url)
        db.upgrade()
        services.deploy(
            db, read_directories(SAMPLE / "processes", SAMPLE / "forms"), actor="bench", now=datetime.now(UTC)
        )
        worker = timer_worker(url)
        try:
            time.sleep(3.0)  # let it start and settle into its idle poll, as a long-running worker would be
            due: dict[int, datetime] = {}
            first = datetime.now(UTC) + timedelta(seconds=lead_s)
            for n in range(timers):
                when = first + timedelta(seconds=spread_s * n / timers)
                view = services.start_instance(db, "sample_case", {}, actor="bench", now=when - REMINDER)
                services.complete_task(db, view.open_tasks[0].id, CASE, actor="bench", now=when - REMINDER)
                due[view.id] = when
            seen: dict[int, datetime] = {}
            deadline = time.monotonic() + lead_s + spread_s + 30
            while len(seen) < len(due) and time.monotonic() < deadline:
                now = datetime.now(UTC)
                for instance_id in _fired(db) - set(seen):
                    seen[instance_id] = now
                time.sleep(0.01)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
            db.dispose()
    late = [(seen[i] - due[i]).total_seconds() if i in seen else float("inf") for i in due]
    return {"median": statistics.median(late), "max": max(late), "timers": float(len(due))}
