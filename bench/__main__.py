"""Engine-core benchmarks. Ratios are taken within one run: absolute times here are noise.

- completion per task: bare SpiffWorkflow (load JSON, complete, engine steps, save JSON) against
  cprflow's service layer (database, task index, event, restricted expressions included);
- ``timers run`` firing 10 due instances beside 10 and beside 10,000 idle waiting instances;
- the Child Practice Review's action-plan audit loop: completing an audit after 1 and after 100
  cycles, and the stored state's size (``bench/audit.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from bench.audit import bench_audit_cycles
from cprflow import services, timers
from cprflow.models import Instance
from cprflow.processes import read_directories
from cprflow.repository import Database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "sample"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CASE = {"child_name": "Sam", "referral_date": "2026-03-02", "risk_score": 9, "child_under_five": False,
        "agencies": ["police", "health"]}
FORM_DATA = {
    "record_case": CASE,
    "agency_review": {"agency_report": {"recommendation": "support", "summary": "seen"}},
    "manager_approval": {"manager_decision": "approved"},
}


def _bare_engine():
    """The same diagrams on SpiffWorkflow alone, with its default script engine."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_files([str(SAMPLE / "processes" / "triage.dmn")])
    parser.add_bpmn_files([str(p) for p in sorted((SAMPLE / "processes").glob("*.bpmn"))])
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def start() -> str:
        wf = BpmnWorkflow(parser.get_spec("sample_case"), parser.get_subprocess_specs("sample_case"))
        wf.do_engine_steps()
        return serializer.serialize_json(wf)

    def ready(state: str) -> list[str]:
        wf = serializer.deserialize_json(state)
        return [str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True) if isinstance(t.task_spec, UserTask)]

    def complete(state: str, task_id: str) -> str:
        from uuid import UUID

        wf = serializer.deserialize_json(state)
        task = wf.get_task_from_id(UUID(task_id))
        task.data.update(FORM_DATA[task.task_spec.bpmn_id])
        task.run()
        wf.do_engine_steps()
        return serializer.serialize_json(wf)

    return start, ready, complete


def bench_completion(instances: int, rounds: int) -> tuple[float, float]:
    start, ready, complete = _bare_engine()
    bare_times: list[float] = []
    ours_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        services.deploy(db, read_directories(SAMPLE / "processes", SAMPLE / "forms"), actor="bench", now=T0)
        for _ in range(rounds):
            for _ in range(instances):
                state = start()
                while tasks := ready(state):
                    began = time.perf_counter()
                    state = complete(state, tasks[0])
                    bare_times.append(time.perf_counter() - began)
                view = services.start_instance(db, "sample_case", {}, actor="bench", now=T0)
                while view.open_tasks:
                    task = view.open_tasks[0]
                    began = time.perf_counter()
                    view = services.complete_task(db, task.id, FORM_DATA[task.bpmn_id], actor="bench", now=T0)
                    ours_times.append(time.perf_counter() - began)
        db.dispose()
    return statistics.median(bare_times), statistics.median(ours_times)


def _due_instances(db: Database, count: int) -> None:
    for _ in range(count):
        view = services.start_instance(db, "sample_case", {}, actor="bench", now=T0)
        services.complete_task(db, view.open_tasks[0].id, CASE, actor="bench", now=T0)


def _idle_instances(db: Database, count: int) -> None:
    """Copies of a waiting instance whose next timer is a year away."""
    _due_instances(db, 1)
    with db.transaction() as session:
        row = session.scalars(select(Instance).order_by(Instance.id.desc()).limit(1)).one()
        template = {c.name: getattr(row, c.key) for c in Instance.__table__.columns if c.name != "id"}
        template.update(status="waiting", next_timer_at=T0 + timedelta(days=365))
        session.execute(insert(Instance), [template] * count)
        session.execute(Instance.__table__.delete().where(Instance.id == row.id))


def bench_timers(idle: int, rounds: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/timers.db")
        db.upgrade()
        services.deploy(db, read_directories(SAMPLE / "processes", SAMPLE / "forms"), actor="bench", now=T0)
        _idle_instances(db, idle)
        times = []
        for round_no in range(rounds):
            _due_instances(db, 10)
            began = time.perf_counter()
            run = timers.run_due(db, now=T0 + timedelta(days=1, minutes=1 + round_no))
            times.append(time.perf_counter() - began)
            assert len(run.fired) == 10, run
        db.dispose()
    return statistics.median(times)


def _line(name: str, value: str, target: str, met: bool | None) -> str:
    verdict = "" if met is None else ("  MET" if met else "  NOT MET")
    return f"{name:<58} {value:>14}   target {target}{verdict}"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__).parse_args(argv)
    del args
    bare, ours = bench_completion(instances=40, rounds=3)
    ratio = ours / bare
    small, large = bench_timers(10, rounds=5), bench_timers(10_000, rounds=5)
    timer_ratio = large / small
    audit = bench_audit_cycles(cycles_small=1, cycles_large=100)
    lines = [
        _line("bare SpiffWorkflow load-complete-save per task (median)", f"{bare * 1000:.2f} ms", "-", None),
        _line("cprflow service completion per task, SQLite (median)", f"{ours * 1000:.2f} ms", "-", None),
        _line("service / bare completion ratio", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5),
        _line("timers run, 10 due beside 10 idle (median)", f"{small * 1000:.1f} ms", "-", None),
        _line("timers run, 10 due beside 10,000 idle (median)", f"{large * 1000:.1f} ms", "-", None),
        _line("timers run ratio, 10,000 idle / 10 idle", f"{timer_ratio:.2f}x", "<= 2x", timer_ratio <= 2),
        _line("review: audit completion after 1 cycle (median)", f"{audit['complete_small_s'] * 1000:.1f} ms", "-", None),
        _line("review: completion after 100 audit cycles / after 1", f"{audit['ratio']:.2f}x", "<= 1.5x",
              audit["ratio"] <= 1.5),
        _line("review state after 1 audit cycle (zlib / JSON)",
              f"{audit['state_small_bytes'] / 1024:.0f} / {audit['state_small_json_chars'] / 1024:.0f} KiB", "-", None),
        _line("review state after 100 audit cycles (zlib / JSON)",
              f"{audit['state_large_bytes'] / 1024:.0f} / {audit['state_large_json_chars'] / 1024:.0f} KiB", "-", None),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
