"""Starting, reading and steering cases through the service, as each kind of person meets it: refusals
that store nothing, lists that show only readable cases, and status changes with their reasons."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from cprflow import services
from cprflow.core.access import Actor
from cprflow.core.errors import Forbidden, InstanceNotActive, InvalidData, NotFound, NotWaiting
from cprflow.db.database import Database
from tests.conftest import T0

INTAKE = Actor("intake", frozenset({"business_unit"}))
MANAGER = Actor("manager", frozenset({"review_subgroup"}))
REVIEWER = Actor("rhian", frozenset({"reviewer"}))
POLICE = Actor("pc", frozenset({"agency"}), "police")
ADMIN = Actor("admin", frozenset({"admin"}))
CASE = {"child_name": "Sam", "referral_date": "2026-03-02", "risk_score": 9, "child_under_five": False}


def rows(db: Database) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("instances", "user_tasks", "events")
        }


@pytest.mark.parametrize(
    ("who", "process", "data", "error"),
    [
        (INTAKE, "sample_case", {"note": {"typename": "BpmnWorkflow"}}, InvalidData),
        (INTAKE, "no_such_process", {}, NotFound),
        (POLICE, "sample_case", {}, Forbidden),
        (REVIEWER, "sample_case", {}, Forbidden),
    ],
)
def test_a_refused_start_stores_nothing(
    deployed: Database, who: Actor, process: str, data: dict[str, Any], error: type[Exception]
) -> None:
    before = rows(deployed)
    with pytest.raises(error):
        services.start_instance(deployed, process, data, actor=who, now=T0)
    assert rows(deployed) == before
    assert services.may_start(deployed, who, process) is (error is InvalidData)


def test_a_start_records_who_and_with_what(deployed: Database) -> None:
    assert services.may_start(deployed, INTAKE, "sample_case")
    view = services.start_instance(deployed, "sample_case", {"source": "Siân's phone call"}, actor=INTAKE, now=T0)
    assert (view.status, view.version_id, [t.bpmn_id for t in view.open_tasks]) == ("running", 1, ["record_case"])
    started = services.list_events(deployed, view.id)[0]
    assert (started.kind, started.actor, started.detail["data"]) == (
        "started",
        "intake",
        {"source": "Siân's phone call"},
    )


def test_lists_show_only_readable_cases_newest_first_with_the_total(deployed: Database) -> None:
    ids = [services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0).id for _ in range(3)]
    page, total = services.list_instances(deployed, actor=MANAGER, limit=2)
    assert ([v.id for v in page], total) == ([ids[2], ids[1]], 3)
    page, total = services.list_instances(deployed, actor=MANAGER, limit=2, offset=2)
    assert ([v.id for v in page], total) == ([ids[0]], 3)
    assert services.list_instances(deployed, actor=POLICE) == ([], 0)  # no task of theirs yet
    assert services.list_instances(deployed, actor=MANAGER, status="completed") == ([], 0)
    assert services.list_instances(deployed, actor=MANAGER, process_id="sample_followup") == ([], 0)


def test_an_unreadable_case_looks_missing(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    for who in (POLICE, REVIEWER):
        with pytest.raises(NotFound, match=f"instance {view.id} not found"):
            services.get_instance(deployed, view.id, actor=who)
        with pytest.raises(NotFound, match=f"instance {view.id} not found"):
            services.list_events(deployed, view.id, actor=who)
    assert services.get_instance(deployed, view.id, actor=MANAGER).id == view.id


def test_an_appointed_reviewer_reads_the_case_they_are_named_in(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {"reviewers": ["rhian"]}, actor="bu", now=T0)
    assert services.get_instance(deployed, view.id, actor=REVIEWER).id == view.id
    assert [v.id for v in services.list_instances(deployed, actor=REVIEWER)[0]] == [view.id]


def test_a_message_nothing_waits_for_is_refused_and_changes_nothing(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    before = rows(deployed)
    with pytest.raises(NotWaiting):
        services.send_message(deployed, view.id, "case_closed", {"outcome": "closed"}, actor=INTAKE, now=T0)
    with pytest.raises(NotFound):  # not theirs to read: not there
        services.send_message(deployed, view.id, "case_closed", {}, actor=POLICE, now=T0)
    with pytest.raises(InvalidData):
        services.send_message(deployed, view.id, "case_closed", {"typename": "x"}, actor=INTAKE, now=T0)
    assert rows(deployed) == before


def test_status_changes_follow_their_order_and_keep_the_reason(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    with pytest.raises(InstanceNotActive, match="cannot resume an instance that is running"):
        services.set_status(deployed, view.id, "resume", reason="r", actor=ADMIN, now=T0)
    assert services.set_status(deployed, view.id, "suspend", reason="on hold", actor=ADMIN, now=T0).status == (
        "suspended"
    )
    assert services.set_status(deployed, view.id, "resume", reason="back", actor=ADMIN, now=T0).status == "running"
    ended = services.set_status(deployed, view.id, "terminate", reason="duplicate ‘case’", actor=ADMIN, now=T0)
    assert (ended.status, ended.open_tasks) == ("terminated", [])
    with pytest.raises(InstanceNotActive):
        services.set_status(deployed, view.id, "resume", reason="r", actor=ADMIN, now=T0)
    changes = [e.detail for e in services.list_events(deployed, view.id) if e.kind == "status_changed"]
    assert [(c["action"], c["from"], c["to"]) for c in changes] == [
        ("suspend", "running", "suspended"),
        ("resume", "suspended", "running"),
        ("terminate", "running", "terminated"),
    ]
    assert changes[-1]["reason"] == "duplicate ‘case’"


@pytest.mark.parametrize(
    ("who", "action", "reason", "error"),
    [
        (MANAGER, "suspend", "r", Forbidden),
        (ADMIN, "suspend", "  ", InvalidData),
        (ADMIN, "pause", "r", InvalidData),
        (ADMIN, "retry", "r", InstanceNotActive),  # only an instance in error is retried
    ],
)
def test_a_refused_status_change_changes_nothing(
    deployed: Database, who: Actor, action: str, reason: str, error: type[Exception]
) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    before = rows(deployed)
    with pytest.raises(error):
        services.set_status(deployed, view.id, action, reason=reason, actor=who, now=T0)
    assert rows(deployed) == before and services.get_instance(deployed, view.id).status == "running"
