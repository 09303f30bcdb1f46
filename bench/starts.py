"""Instance starts per second: cprflow's ``services.start_instance`` in 1 or 2 worker processes, on
SQLite or PostgreSQL, against the bare engine's own start-and-save rate in as many processes.

Each worker process is spawned fresh, warms up (one start), waits for a shared moment, then starts
sample cases for a fixed window; the rate is the starts committed in the window over its length.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from bench.bare import SAMPLE, bare_engine
from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams.diagram_set import read_directories

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WARM_UP_S = 4.0  # long enough for a spawned process to import everything and warm up


def _bare_worker(go_at: float, seconds: float) -> int:
    start, _, _ = bare_engine()
    start()
    time.sleep(max(0.0, go_at - time.time()))
    count, stop_at = 0, time.monotonic() + seconds
    while time.monotonic() < stop_at:
        start()  # build, run to the first wait, serialise: what a start must save
        count += 1
    return count


def _service_worker(url: str, go_at: float, seconds: float) -> int:
    db = Database(url)
    try:
        services.start_instance(db, "sample_case", {}, actor="bench", now=T0)
        time.sleep(max(0.0, go_at - time.time()))
        count, stop_at = 0, time.monotonic() + seconds
        while time.monotonic() < stop_at:
            services.start_instance(db, "sample_case", {}, actor="bench", now=T0)
            count += 1
        return count
    finally:
        db.dispose()


def _rate(processes: int, seconds: float, url: str | None) -> float:
    go_at = time.time() + WARM_UP_S
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        if url is None:
            futures = [pool.submit(_bare_worker, go_at, seconds) for _ in range(processes)]
        else:
            futures = [pool.submit(_service_worker, url, go_at, seconds) for _ in range(processes)]
        return sum(f.result() for f in futures) / seconds


def _deployed(url: str) -> None:
    db = Database(url)
    try:
        db.upgrade()
        services.deploy(db, read_directories(SAMPLE / "processes", SAMPLE / "forms"), actor="bench", now=T0)
    finally:
        db.dispose()


def bench_starts(postgres_url: str | None, seconds: float = 4.0) -> dict[str, float | None]:
    """Starts per second: ``bare_1``, ``bare_2``, ``sqlite_1``, ``pg_1``, ``pg_2`` (None: no PostgreSQL)."""
    from bench.pg import own_schema

    result: dict[str, float | None] = {"bare_1": _rate(1, seconds, None), "bare_2": _rate(2, seconds, None)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/starts.db"
        _deployed(url)
        result["sqlite_1"] = _rate(1, seconds, url)
    result["pg_1"] = result["pg_2"] = None
    if postgres_url:
        for workers in (1, 2):
            with own_schema(postgres_url) as url:
                _deployed(url)
                result[f"pg_{workers}"] = _rate(workers, seconds, url)
    return result
