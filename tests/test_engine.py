"""Instances share their version's parsed spec instead of carrying a copy in their stored state."""

from __future__ import annotations

import json
import zlib

import pytest

from cprflow import services
from cprflow.core.errors import DeployRefused
from cprflow.db import store
from cprflow.db.database import Database
from cprflow.db.models import Instance, ProcessVersion
from cprflow.diagrams import diagram_set
from tests.conftest import ROOT, T0

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health", "school"],
}


def _state(db: Database, instance_id: int) -> dict:
    with db.transaction(write=False) as session:
        return json.loads(store.unpack(session.get(Instance, instance_id).state))


def test_state_holds_the_instance_not_the_diagram(deployed):
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    services.complete_task(deployed, view.open_tasks[0].id, CASE, actor="bu", now=T0)
    state = _state(deployed, view.id)
    assert "spec" not in state and "subprocess_specs" not in state


def test_interleaved_instances_of_one_version_keep_their_own_progress(deployed):
    """Two instances of one version share spec objects: the multi-instance agency reviews of one
    must never merge into the other."""
    first = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    second = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    first = services.complete_task(deployed, first.open_tasks[0].id, CASE, actor="bu", now=T0)
    second = services.complete_task(
        deployed, second.open_tasks[0].id, {**CASE, "agencies": ["police"]}, actor="bu", now=T0
    )

    def agency_tasks(view):
        return [t for t in view.open_tasks if t.bpmn_id == "agency_review"]

    assert len(agency_tasks(first)) == 3 and len(agency_tasks(second)) == 1
    for task in agency_tasks(first)[:2]:
        services.complete_task(
            deployed,
            task.id,
            {"agency_report": {"recommendation": "support", "summary": task.assignee}},
            actor="agency",
            now=T0,
        )
    services.complete_task(
        deployed,
        agency_tasks(second)[0].id,
        {"agency_report": {"recommendation": "protection_plan", "summary": "only"}},
        actor="agency",
        now=T0,
    )
    first, second = services.get_instance(deployed, first.id), services.get_instance(deployed, second.id)
    assert [t.assignee for t in agency_tasks(first)] == ["school"]
    assert agency_tasks(second) == []
    assert second.data["agency_reports"] == [{"recommendation": "protection_plan", "summary": "only"}]
    assert "agency_reports" not in first.data or len(first.data["agency_reports"]) < 3


def test_instances_of_a_version_deployed_before_sharing_keep_their_own_spec(deployed):
    """Versions deployed before specs were shared have no "shareable" mark: their instances go on
    carrying a spec in their state, and load and run as before."""
    with deployed.transaction() as session:
        version = session.get(ProcessVersion, 1)
        specs = json.loads(zlib.decompress(version.specs))
        for stored in specs.values():
            del stored["shareable"]
        version.specs = zlib.compress(json.dumps(specs).encode())
    store._versions.clear()
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    assert "spec" in _state(deployed, view.id)
    view = services.complete_task(deployed, view.open_tasks[0].id, {**CASE, "agencies": ["police"]}, actor="bu", now=T0)
    assert sorted(t.bpmn_id for t in view.open_tasks) == ["agency_review", "manager_approval"]
    assert "spec" in _state(deployed, view.id)


def test_deploy_refuses_an_event_subprocess_that_could_never_start(db):
    fixture = ROOT / "tests" / "fixtures" / "event_subprocess"
    with pytest.raises(DeployRefused) as refused:
        services.deploy(
            db, diagram_set.read_directories(fixture / "processes", fixture / "forms"), actor="owner", now=T0
        )
    [problem] = refused.value.problems
    assert problem.element == "on_withdrawal" and "never starts" in problem.message
