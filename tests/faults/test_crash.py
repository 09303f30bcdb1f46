"""A process killed mid-work leaves every instance at its last committed state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from cprflow import services
from cprflow.db import store
from cprflow.db.database import Database
from cprflow.db.models import Event, Instance, UserTask
from tests.conftest import ROOT, T0, sample_diagrams

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police"],
}


def _instances(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Instance)) or 0


def _kill_mid_work(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with (
        log.open("wb") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.crash_worker", db.url],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=stderr,
        ) as worker,
    ):
        try:
            deadline = time.monotonic() + 60
            while _instances(db) < 8:  # wait until it is well into its work, then kill it outright
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker made no progress"
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()


def test_killed_worker_leaves_every_instance_consistent(any_db: Database, tmp_path: Path) -> None:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    _kill_mid_work(any_db, tmp_path)

    with any_db.transaction(write=False) as session:
        rows = session.scalars(select(Instance)).all()
        assert rows
        for instance in rows:
            instance_id, lock_version = instance.id, instance.lock_version
            workflow = store.load_workflow(session, instance)
            indexed = set(
                session.scalars(
                    select(UserTask.id).where(UserTask.instance_id == instance_id, UserTask.closed_at.is_(None))
                )
            )
            ready = {t.id for t in workflow.snapshot(T0, 5.0, known=indexed).ready_tasks}
            assert ready == indexed, f"instance {instance_id}: task index out of step with its state"
            kinds = session.scalars(select(Event.kind).where(Event.instance_id == instance_id)).all()
            assert kinds.count("started") == 1
            # Every committed completion bumped the version once and left exactly one event.
            assert kinds.count("task_completed") == lock_version - 1
            assert instance.status in ("running", "waiting")

    # And work goes on: any interrupted task completes, and new cases start.
    forms = {
        "record_case": CASE,
        "agency_review": {"agency_report": {"recommendation": "support", "summary": "seen"}},
        "manager_approval": {"manager_decision": "approved"},
    }
    for task in services.list_tasks(any_db)[:3]:
        assert (
            services.complete_task(any_db, task.id, forms[task.bpmn_id], actor="after", now=T0).id == task.instance_id
        )
    fresh = services.start_instance(any_db, "sample_case", {}, actor="after", now=T0)
    assert services.complete_task(any_db, fresh.open_tasks[0].id, CASE, actor="after", now=T0).status == "running"
