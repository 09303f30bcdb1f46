"""The access policy applied by the store: one case at a time (guards) and whole lists in SQL, which
must agree, on SQLite and PostgreSQL (the appointed-reader test reads JSON on both)."""

from __future__ import annotations

import pytest

from cprflow import services
from cprflow.core import access
from cprflow.core.errors import Forbidden, NotFound
from cprflow.db.database import Database
from tests.conftest import T0, sample_diagrams
from tests.web.conftest import CASE

REV1 = access.Actor("rev1", frozenset({"reviewer"}))
REV2 = access.Actor("rev2", frozenset({"reviewer"}))
POLICE = access.Actor("pc", frozenset({"agency"}), "police")
PROBATION = access.Actor("pr", frozenset({"agency"}), "probation")
INTAKE = access.Actor("bu", frozenset({"business_unit"}))
AUDITOR = access.Actor("aud", frozenset({"auditor"}))


@pytest.fixture
def cases(any_db: Database) -> dict[str, int]:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    listed = services.start_instance(any_db, "sample_case", {"reviewers": ["rev1", "x"]}, actor="bu", now=T0)
    scalar = services.start_instance(any_db, "sample_case", {"reviewers": "rev2"}, actor="bu", now=T0)
    review = services.start_instance(any_db, "sample_case", {}, actor="bu", now=T0)
    services.complete_task(any_db, review.open_tasks[0].id, CASE, actor="bu", now=T0)  # agency reviews open
    return {"listed": listed.id, "scalar": scalar.id, "review": review.id}


EXPECTED = {
    "rev1": {"listed"},  # appointed in a list
    "rev2": {"scalar"},  # appointed by a single name
    "pc": {"review"},  # holds an agency review there
    "pr": set(),  # an agency with no task anywhere
    "bu": {"listed", "scalar", "review"},  # case readers
    "aud": {"listed", "scalar", "review"},  # auditors read everything
}


@pytest.mark.parametrize("actor", [REV1, REV2, POLICE, PROBATION, INTAKE, AUDITOR], ids=lambda a: a.username)
def test_lists_and_single_reads_agree(any_db: Database, cases: dict[str, int], actor: access.Actor) -> None:
    found, total = services.list_instances(any_db, actor=actor)
    assert {i.id for i in found} == {cases[n] for n in EXPECTED[actor.username]} and total == len(found)
    for name, instance_id in cases.items():
        if name in EXPECTED[actor.username]:
            assert services.get_instance(any_db, instance_id, actor=actor).id == instance_id
        else:
            with pytest.raises(NotFound):
                services.get_instance(any_db, instance_id, actor=actor)


def test_a_task_holder_sees_where_the_case_stands_and_only_their_own_tasks(
    any_db: Database, cases: dict[str, int]
) -> None:
    view = services.get_instance(any_db, cases["review"], actor=POLICE)
    assert set(view.data) <= {"stage", "child_reference", "subject_reference"} and "child_name" not in view.data
    assert [(t.bpmn_id, t.assignee) for t in view.open_tasks] == [("agency_review", "police")]
    with pytest.raises(NotFound):  # the whole history is for readers of the whole case
        services.list_events(any_db, cases["review"], actor=POLICE)


def test_task_lists_hold_only_what_the_person_may_work(any_db: Database, cases: dict[str, int]) -> None:
    assert [(t.bpmn_id, t.assignee) for t in services.list_tasks(any_db, actor=POLICE)] == [("agency_review", "police")]
    assert services.list_tasks(any_db, actor=PROBATION) == []
    assert services.list_tasks(any_db, actor=AUDITOR) == []  # reads everything, works nothing
    health = next(t for t in services.get_instance(any_db, cases["review"]).open_tasks if t.assignee == "health")
    with pytest.raises(Forbidden):  # reads the case through their own task, may not act on another's
        services.complete_task(any_db, health.id, {}, actor=POLICE, now=T0)
    with pytest.raises(NotFound):  # reads nothing of it: the task is not there for them
        services.complete_task(any_db, health.id, {}, actor=PROBATION, now=T0)
