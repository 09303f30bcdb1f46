"""Deploying a diagram set: a new version with its note and event, the same set again a no-op, a
broken set refused with nothing stored, and each version's files and permissions read back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cprflow.core.errors import DeployRefused, NotFound
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.diagrams import diagram_set
from cprflow.services import deployments
from tests.conftest import T0, sample_diagrams

SAMPLE = sample_diagrams()
CHANGED = diagram_set.DiagramSet(
    {
        **SAMPLE.files,
        "processes/triage.dmn": SAMPLE.files["processes/triage.dmn"].replace(
            b"<description>High risk score</description>", b"<description>Risg uchel</description>"
        ),
    }
)


def deploy_events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.transaction(write=False) as session:
        rows = session.scalars(select(Event).where(Event.kind == "deployed").order_by(Event.id)).all()
        return [(r.actor, r.detail) for r in rows]


def test_a_changed_set_is_a_new_version_with_its_note(deployed: Database) -> None:
    assert CHANGED.content_hash != SAMPLE.content_hash
    result = deployments.deploy(deployed, CHANGED, actor="owner", now=T0, note="Welsh wording, Siân's request")
    assert (result.version_id, result.created) == (2, True)
    assert "sample_case" in [p["id"] for p in result.processes]
    versions = deployments.list_versions(deployed)
    assert [v["id"] for v in versions] == [2, 1]  # newest first
    assert versions[0]["note"] == "Welsh wording, Siân's request" and versions[0]["deployed_by"] == "owner"
    assert deploy_events(deployed)[-1][1]["note"] == "Welsh wording, Siân's request"
    assert deployments.newest_files(deployed)["processes/triage.dmn"] == CHANGED.files["processes/triage.dmn"]


def test_the_same_set_again_changes_nothing(deployed: Database) -> None:
    before = deploy_events(deployed)
    again = deployments.deploy(deployed, SAMPLE, actor="someone else", now=T0)
    assert (again.version_id, again.created, again.content_hash) == (1, False, SAMPLE.content_hash)
    assert [v["id"] for v in deployments.list_versions(deployed)] == [1]
    assert deploy_events(deployed) == before


def test_a_broken_set_is_refused_naming_the_file_and_stores_nothing(deployed: Database) -> None:
    broken = diagram_set.DiagramSet({**SAMPLE.files, "processes/triage.dmn": b"<not really xml"})
    before = deploy_events(deployed)
    with pytest.raises(DeployRefused) as refused:
        deployments.deploy(deployed, broken, actor="owner", now=T0)
    assert any(p.file == "processes/triage.dmn" for p in refused.value.problems)
    assert [v["id"] for v in deployments.list_versions(deployed)] == [1]
    assert deploy_events(deployed) == before


def test_an_empty_database_has_no_files_and_no_processes(db: Database) -> None:
    assert deployments.newest_files(db) == {}
    assert deployments.list_versions(db) == []
    with pytest.raises(NotFound, match="no deployed process 'sample_case'"):
        deployments.latest_permissions(db, "sample_case")


def test_permissions_are_those_of_the_version(deployed: Database) -> None:
    assert deployments.permissions(deployed, 1) == deployments.latest_permissions(deployed, "sample_case")
    with pytest.raises(NotFound, match="process version 99 not found"):
        deployments.permissions(deployed, 99)
