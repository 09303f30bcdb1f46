"""Service tasks call registered operators inside the step's transaction, checked at deploy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from cprflow import services
from cprflow.core import operators
from cprflow.core.errors import DeployRefused, ScriptFailed
from cprflow.db import store
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.diagrams import diagram_set
from tests.conftest import ROOT, T0

FIXTURE = ROOT / "tests" / "fixtures" / "operators"


@pytest.fixture
def note_operator() -> Iterator[list[tuple[int | None, str]]]:
    """A test operator: answers at once, and defers an event that needs the instance's row."""
    seen: list[tuple[int | None, str]] = []

    @operators.register("test_note", required=("text",), optional=("fail",))
    def note(step: operators.StepContext, params: dict[str, Any]) -> Any:
        if params.get("fail"):
            raise operators.OperatorFailed("asked to fail")
        seen.append((step.instance_id, params["text"]))

        def write(session: Any, instance_id: int) -> None:
            store.record_event(session, instance_id, "noted", step.actor, step.now, {"text": params["text"]})

        step.defer(write)
        return {"noted": params["text"]}

    yield seen
    operators._REGISTRY.pop("test_note", None)


def _diagrams(xml: bytes | None = None) -> diagram_set.DiagramSet:
    diagrams = diagram_set.read_directories(FIXTURE / "processes", FIXTURE / "forms")
    if xml is not None:
        diagrams.files["operators.bpmn"] = xml
    return diagrams


def _noted(db: Database, instance_id: int) -> list[str]:
    with db.transaction(write=False) as session:
        events = session.scalars(select(Event).where(Event.instance_id == instance_id, Event.kind == "noted")).all()
    return [e.detail["text"] for e in events]


def test_an_operator_answers_into_the_data_and_its_writes_commit_with_the_step(db, note_operator):
    services.deploy(db, _diagrams(), actor="owner", now=T0)
    started = services.start_instance(db, "uses_operators", {"case_name": "C1"}, actor="bu", now=T0)
    assert note_operator == [(None, "opened C1")]  # at a start the row does not exist yet...
    assert _noted(db, started.id) == ["opened C1"]  # ...so the write waited for it
    assert services.get_instance(db, started.id).data["first_note"] == {"noted": "opened C1"}
    done = services.complete_task(db, started.open_tasks[0].id, {"seen": True}, actor="bu", now=T0)
    assert done.status == "completed" and done.data["second_note"] == {"noted": "seen"}
    assert _noted(db, started.id) == ["opened C1", "seen"]


def test_a_failing_operator_fails_the_step_and_nothing_it_wrote_remains(db, note_operator):
    services.deploy(db, _diagrams(), actor="owner", now=T0)
    started = services.start_instance(db, "uses_operators", {"case_name": "C2"}, actor="bu", now=T0)
    with pytest.raises(ScriptFailed, match="note_after.*asked to fail"):
        services.complete_task(db, started.open_tasks[0].id, {"seen": False}, actor="bu", now=T0)
    after = services.get_instance(db, started.id)
    assert after.status == "error" and [t.bpmn_id for t in after.open_tasks] == ["acknowledge"]
    assert _noted(db, started.id) == ["opened C2"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda x: x.replace(
                b'id="test_note" resultVariable="first_note"', b'id="no_such_thing" resultVariable="first_note"'
            ),
            "no operator 'no_such_thing'",
        ),
        (
            lambda x: x.replace(
                b'<spiffworkflow:parameter id="text" type="str" value="\'opened \' + case_name" />',
                b'<spiffworkflow:parameter id="txt" type="str" value="1" />',
            ),
            "'test_note' has no parameter 'txt'",
        ),
        (lambda x: x.replace(b"'opened ' + case_name", b"__import__('os')"), "note_at_start"),
    ],
)
def test_deploy_refuses_a_service_task_it_could_not_run(db, note_operator, edit, message):
    xml = (FIXTURE / "processes" / "operators.bpmn").read_bytes()
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, _diagrams(edit(xml)), actor="owner", now=T0)
    assert message in str(refused.value)
    assert all(p.element in ("note_at_start", None) for p in refused.value.problems)
    assert services.list_versions(db) == []
