"""The administrator's data fix: each key checked before anything is written, the open forms showing
the fixed values, and the event keeping every value before and after with the reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from cprflow import services
from cprflow.core.access import Actor
from cprflow.core.errors import InstanceNotActive, InvalidData
from cprflow.db.database import Database
from cprflow.services import datafix
from tests.conftest import T0

ADMIN = Actor("admin", frozenset({"admin"}))
CASE = {"child_name": "Sam", "referral_date": "2026-03-02", "risk_score": 9, "child_under_five": False}


def recorded(db: Database, case: services.InstanceView) -> Any:
    services.complete_task(db, case.open_tasks[0].id, {**CASE, "agencies": ["police"]}, actor="bu", now=T0)
    return services.get_instance(db, case.id)


@pytest.fixture
def case(deployed: Database) -> services.InstanceView:
    started = services.start_instance(deployed, "sample_case", {"source": "phone", "note": None}, actor="bu", now=T0)
    return recorded(deployed, started)


def state(db: Database) -> list[Any]:
    with db.engine.connect() as connection:
        return [
            tuple(r)
            for t in ("instances", "user_tasks", "events")
            for r in connection.execute(text(f"SELECT * FROM {t}"))
        ]


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"risk_score": 11}, {"/values/risk_score": ["11 is greater than the maximum of 10"]}),
        ({"referral_date": "2026-02-30"}, {"/values/referral_date": ["'2026-02-30' is not a 'date'"]}),
        ({"source": 7}, {"/values/source": ["must stay a string"]}),  # not a form field: keeps its JSON type
        ({"child_under_five": 0}, {"/values/child_under_five": ["0 is not of type 'boolean'"]}),
        ({"a/b~c": 1}, {"/values/a~1b~0c": ["is neither a form field nor a key this case holds"]}),
        ({"agencies": [{"typename": "x"}]}, {"/values/agencies/0/typename": ["'typename' is a reserved key"]}),
        ({}, {"/values": ["must name at least one key"]}),
    ],
)
def test_a_bad_fix_names_each_key_and_changes_nothing(
    deployed: Database, case: services.InstanceView, values: dict[str, Any], fields: dict[str, list[str]]
) -> None:
    before = state(deployed)
    with pytest.raises(InvalidData) as refused:
        datafix.fix_data(deployed, case.id, values, reason="typo", actor="admin", now=T0)
    assert refused.value.fields == fields
    assert state(deployed) == before


def test_a_fix_needs_a_reason(deployed: Database, case: services.InstanceView) -> None:
    with pytest.raises(InvalidData) as refused:
        datafix.fix_data(deployed, case.id, {"child_name": "Alex"}, reason=" \t", actor="admin", now=T0)
    assert refused.value.fields == {"/reason": ["is required"]}


def test_a_fix_is_recorded_and_shown_in_the_open_forms(deployed: Database, case: services.InstanceView) -> None:
    fixed = datafix.fix_data(
        deployed, case.id, {"child_name": "Siân", "note": 'it\'s "fixed"'}, reason="Misspelt", actor="admin", now=T0
    )
    assert fixed.data["child_name"] == "Siân" and fixed.data["note"] == 'it\'s "fixed"'  # a null key takes any type
    assert services.get_instance(deployed, case.id).data == fixed.data
    event = services.list_events(deployed, case.id)[-1]
    assert (event.kind, event.actor, event.detail["reason"], event.detail["keys"]) == (
        "data_fixed",
        "admin",
        "Misspelt",
        ["child_name", "note"],
    )
    assert event.detail["changes"]["child_name"] == {"before": "Sam", "after": "Siân"}
    with deployed.engine.connect() as connection:  # what each open task's form is filled from
        stored = connection.execute(text("SELECT data FROM user_tasks WHERE closed_at IS NULL")).scalars().all()
    assert stored and all(json.loads(d)["child_name"] == "Siân" for d in stored)


def test_a_suspended_case_may_be_fixed_but_a_finished_one_not(deployed: Database, case: services.InstanceView) -> None:
    services.set_status(deployed, case.id, "suspend", reason="hold", actor=ADMIN, now=T0)
    assert datafix.fix_data(deployed, case.id, {"child_name": "A"}, reason="r", actor="admin", now=T0).status == (
        "suspended"
    )
    services.set_status(deployed, case.id, "terminate", reason="duplicate", actor=ADMIN, now=T0)
    before = state(deployed)
    with pytest.raises(InstanceNotActive, match="terminated"):
        datafix.fix_data(deployed, case.id, {"child_name": "B"}, reason="r", actor="admin", now=T0)
    assert state(deployed) == before
