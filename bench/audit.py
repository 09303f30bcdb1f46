"""The action-plan audit loop over many cycles: does completing a task, and the stored state, stay flat?

A concise review is driven through the services (real ``processes/`` and ``forms/``, temporary
SQLite) to its audit loop. Cycle 1 closes A2 and A3, so every later cycle has the same shape (the
police report on A1, the Sub-Group audits, the Business Unit reports). After ``cycles_small`` and
after ``cycles_large`` finished cycles, the next cycle's *Audit the action plan* is completed
``repeats`` times, each time on a fresh copy of the database file, and the median is kept, with the
stored state's size. The form data and the stretch up to the loop come from the scenario driver
(``tests/scenarios/cpr.py``), so the benchmark runs exactly what the scenarios prove.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cprflow import services
from cprflow.core import expressions
from cprflow.db.database import Database
from cprflow.db.models import Instance
from cprflow.services import timers
from tests.scenarios import cpr

FIRST_AUDIT_DUE = "2026-08-06"
CYCLE_ONE = ({"A2": "complete", "A3": "complete"}, ("A2", "A3"))  # only A1 stays open after cycle 1


def _open_audit(db: Database, instance_id: int, due: str) -> str:
    """Fire the cycle due on ``due`` and file the progress reports; returns the audit task's id."""
    run = timers.run_due(db, now=cpr.at(due, 0))
    assert run.fired == [instance_id], run
    for task in services.list_tasks(db, instance_id=instance_id):
        assert task.bpmn_id == "report_action_progress", task
        services.complete_task(
            db, task.id, cpr.progress(task.assignee or "", due), actor=task.assignee or "agency", now=cpr.at(due)
        )
    (audit,) = services.list_tasks(db, instance_id=instance_id)
    assert audit.bpmn_id == "audit_action_plan", audit
    return audit.id


def _finish_cycle(db: Database, instance_id: int, task_id: str, data: dict[str, Any], due: str) -> str:
    """Complete the audit and the progress report; returns the next cycle's due date."""
    services.complete_task(db, task_id, data, actor="subgroup.chair", now=cpr.at(due))
    (report,) = services.list_tasks(db, instance_id=instance_id)
    assert report.bpmn_id == "report_audit_progress", report
    view = services.complete_task(db, report.id, cpr.REPORT_PROGRESS, actor="bu.officer", now=cpr.at(due))
    assert view.data["audit_cycle"] >= 1 and not view.data["all_actions_closed"], view.data
    return str(view.data["next_audit_due"])


def _state_size(db: Database, instance_id: int) -> tuple[int, int]:
    with db.transaction(write=False) as session:
        state = session.scalar(select(Instance.state).where(Instance.id == instance_id))
    return len(state), len(zlib.decompress(state))


def _backup(path: Path, copy: Path) -> None:
    """Copy a SQLite database, its write-ahead log included (a plain file copy would miss it)."""
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _complete_once(snapshot: Path, work: Path, task_id: str, data: dict[str, Any], when: datetime) -> float:
    """Seconds to complete ``task_id`` on a fresh copy of ``snapshot``."""
    copy = work / "timed.db"
    _backup(snapshot, copy)
    db = Database(f"sqlite:///{copy}")
    try:
        services.get_task(db, task_id)  # warm: connection, version cache, a first load
        began = time.perf_counter()
        services.complete_task(db, task_id, data, actor="subgroup.chair", now=when)
        return time.perf_counter() - began
    finally:
        db.dispose()
        copy.unlink()


def bench_audit_cycles(cycles_small: int = 1, cycles_large: int = 100, repeats: int = 11) -> dict[str, Any]:
    """Completion time of the next audit, and state size, after ``cycles_small`` and ``cycles_large`` cycles."""
    assert 1 <= cycles_small < cycles_large
    result: dict[str, Any] = {"cycles_small": cycles_small, "cycles_large": cycles_large}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "audit.db"
        url = f"sqlite:///{path}"
        db = Database(url)
        db.upgrade()
        db.dispose()
        cpr.deploy(url)
        review = cpr.Review.start(url)
        cpr.to_audit_loop(review)
        checkpoints: dict[str, tuple[Path, str, dict[str, Any], datetime]] = {}

        db = Database(url)
        try:
            due = FIRST_AUDIT_DUE
            for cycle in range(1, cycles_large + 2):
                task_id = _open_audit(db, review.id, due)
                statuses, accepted = CYCLE_ONE if cycle == 1 else ({}, ())
                data = cpr.audit(due, statuses, accepted)
                done = cycle - 1  # cycles finished before this audit
                if done in (cycles_small, cycles_large):
                    label = "small" if done == cycles_small else "large"
                    compressed, uncompressed = _state_size(db, review.id)
                    result[f"state_{label}_bytes"] = compressed
                    result[f"state_{label}_json_chars"] = uncompressed
                    snapshot = work / f"{label}.db"
                    _backup(path, snapshot)
                    checkpoints[label] = (snapshot, task_id, data, cpr.at(due))
                due = _finish_cycle(db, review.id, task_id, data, due)
                if due != expressions.add_duration(FIRST_AUDIT_DUE, f"P{3 * cycle}M"):
                    raise AssertionError(f"cycle {cycle}: next audit due {due}")
        finally:
            db.dispose()
        result["drive_s"] = time.perf_counter() - began
        # Interleaved, so that a machine growing busier or quieter weighs on both figures alike.
        timings: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(repeats):
            for label, (snapshot, task_id, data, when) in checkpoints.items():
                timings[label].append(_complete_once(snapshot, work, task_id, data, when))
        for label, values in timings.items():
            result[f"complete_{label}_s"] = statistics.median(values)
    result["ratio"] = result["complete_large_s"] / result["complete_small_s"]
    result["total_s"] = time.perf_counter() - began
    return result
