"""Who holds a task: giving it out is for the roles permissions.json names, only to someone who may
work it, and a task someone else finished says who and when."""

from __future__ import annotations

import pytest

from cprflow import services
from cprflow.core import access
from cprflow.core.errors import Forbidden, InvalidData, TaskClosed
from cprflow.db.database import Database
from cprflow.services import users
from tests.conftest import T0
from tests.scenarios import cpr

BU = access.Actor("bu", frozenset({"business_unit"}))
BU2 = access.Actor("bu2", frozenset({"business_unit"}))
AUDITOR = access.Actor("aud", frozenset({"auditor"}))


@pytest.fixture
def task_id(review_db: Database) -> str:
    for name, roles, shown in (("bu", ["business_unit"], "Bryn"), ("bu2", ["business_unit"], "Bethan")):
        users.add_user(review_db, name, password="a long enough password", roles=roles, display_name=shown, now=T0)
    users.add_user(review_db, "chair", password="a long enough password", roles=["board_chair"], now=T0)
    services.start_instance(review_db, cpr.CPR, cpr.start_data(), actor="bu", now=T0)
    return services.list_tasks(review_db)[0].id


def test_an_assigner_gives_a_task_only_to_someone_who_may_work_it(review_db: Database, task_id: str) -> None:
    detail = services.get_task(review_db, task_id, actor=BU)
    assert detail.may_assign and [p.username for p in detail.workers] == ["bu2", "bu"]  # by name: Bethan, Bryn
    with pytest.raises(InvalidData) as refused:
        services.assign_task(review_db, task_id, "chair", actor=BU, now=T0)
    assert refused.value.fields == {"/username": ["may not work this task"]}
    assert services.assign_task(review_db, task_id, "bu2", actor=BU, now=T0).claimed_by == "bu2"
    holder = services.get_task(review_db, task_id, actor=BU2).claimed_by
    assert holder is not None and (holder.username, holder.name) == ("bu2", "Bethan")
    assert services.assign_task(review_db, task_id, None, actor=BU, now=T0).claimed_by is None


def test_auditors_may_not_give_out_tasks(review_db: Database, task_id: str) -> None:
    with pytest.raises(Forbidden):
        services.assign_task(review_db, task_id, "bu2", actor=AUDITOR, now=T0)
    assert services.list_tasks(review_db)[0].claimed_by is None


def test_a_task_someone_else_completed_names_them_and_when(review_db: Database, task_id: str) -> None:
    services.complete_task(review_db, task_id, cpr.referral(), actor=BU2, now=T0)
    with pytest.raises(TaskClosed) as closed:
        services.get_task(review_db, task_id, actor=BU)
    assert (closed.value.by, closed.value.by_name, closed.value.at) == ("bu2", "Bethan", T0)
    assert "completed by Bethan" in closed.value.message
