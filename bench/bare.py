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
