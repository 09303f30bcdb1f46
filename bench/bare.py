"""The sample diagrams on SpiffWorkflow alone: the yardstick every cprflow figure is set against."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "sample"
CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health"],
}
FORM_DATA: dict[str, dict[str, Any]] = {
    "record_case": CASE,
    "agency_review": {"agency_report": {"recommendation": "support", "summary": "seen"}},
    "manager_approval": {"manager_decision": "approved"},
}


def bare_engine(
    directory: Path = SAMPLE, process: str = "sample_case", form_data: dict[str, dict[str, Any]] = FORM_DATA
) -> tuple[Callable[[], str], Callable[[str], list[str]], Callable[[str, str], str]]:
    """(start, ready, complete) on the same diagrams with SpiffWorkflow's default script engine:
    start builds, runs and serialises an instance; complete loads, completes, steps and serialises.
    ``form_data`` is what each user task (by its id) is completed with."""
    from uuid import UUID

    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_files([str(p) for p in sorted((directory / "processes").glob("*.dmn"))])
    parser.add_bpmn_files([str(p) for p in sorted((directory / "processes").glob("*.bpmn"))])
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    spec, subprocesses = parser.get_spec(process), parser.get_subprocess_specs(process)

    def start() -> str:
        wf = BpmnWorkflow(spec, subprocesses)
        wf.do_engine_steps()
        return serializer.serialize_json(wf)

    def ready(state: str) -> list[str]:
        wf = serializer.deserialize_json(state)
        return [
            str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True) if isinstance(t.task_spec, UserTask)
        ]

    def complete(state: str, task_id: str) -> str:
        wf = serializer.deserialize_json(state)
        task = wf.get_task_from_id(UUID(task_id))
        task.data.update(form_data[task.task_spec.bpmn_id])
        task.run()
        wf.do_engine_steps()
        return serializer.serialize_json(wf)

    return start, ready, complete


def bare_engine_sqlite(
    path: str,
    directory: Path = SAMPLE,
    process: str = "sample_case",
    form_data: dict[str, dict[str, Any]] = FORM_DATA,
) -> tuple[Callable[[], int], Callable[[int], list[str]], Callable[[int, str], int]]:
    """``bare_engine`` with each instance's state kept as one row of a SQLite file (the standard
    library's sqlite3, WAL with synchronous=NORMAL as cprflow sets it): start runs and inserts the
    row; complete, in one transaction, reads the row, completes the task, steps, writes the row back
    and commits. The smallest thing that stores an instance, for comparison only: no task index,
    no events, no access checks, no HTTP."""
    import sqlite3

    start, ready, complete = bare_engine(directory, process, form_data)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE IF NOT EXISTS bare_instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def start_saved() -> int:
        state = start()
        connection.execute("BEGIN IMMEDIATE")
        row_id = connection.execute("INSERT INTO bare_instances (state) VALUES (?)", (state,)).lastrowid
        connection.execute("COMMIT")
        assert row_id is not None
        return row_id

    def load(row_id: int) -> str:
        return str(connection.execute("SELECT state FROM bare_instances WHERE id = ?", (row_id,)).fetchone()[0])

    def ready_saved(row_id: int) -> list[str]:
        return ready(load(row_id))

    def complete_saved(row_id: int, task_id: str) -> int:
        connection.execute("BEGIN IMMEDIATE")
        try:
            state = complete(load(row_id), task_id)
            connection.execute("UPDATE bare_instances SET state = ? WHERE id = ?", (state, row_id))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return row_id

    return start_saved, ready_saved, complete_saved
