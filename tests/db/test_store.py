"""The instance store: one of two racing writers loses and writes nothing, closed tasks leave the
index, listeners hear of tasks that open, and errors flag an instance without losing its state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow import services
from cprflow.core.access import Actor
from cprflow.core.errors import Conflict, InstanceNotActive, NotFound, ScriptFailed, TaskNotReady
from cprflow.db import store
from cprflow.db.database import Database
from cprflow.db.models import Instance, UserTask
from tests.conftest import T0

ADMIN = Actor("admin", frozenset({"admin"}))
CASE = {"child_name": "Siân", "referral_date": "2026-03-02", "risk_score": 9, "child_under_five": False}


@pytest.fixture
def heard() -> Iterator[list[tuple[int, list[str]]]]:
    """What a listener registered for opened tasks is told: (instance id, bpmn ids of the new tasks)."""
    calls: list[tuple[int, list[str]]] = []

    def listener(session: Session, instance: Instance, rows: Sequence[dict[str, Any]], now: Any) -> None:
        calls.append((instance.id, [r["bpmn_id"] for r in rows]))

    store.on_tasks_opened(listener)
    store.on_tasks_opened(listener)  # registering twice still calls it once a step
    yield calls
    store._TASKS_OPENED.remove(listener)


def test_listeners_hear_once_of_each_task_that_opens(deployed: Database, heard: list[tuple[int, list[str]]]) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    assert heard == [(view.id, ["record_case"])]
    view = services.complete_task(deployed, view.open_tasks[0].id, {**CASE, "agencies": ["police"]}, actor="bu", now=T0)
    assert len(heard) == 2 and heard[1][0] == view.id
    assert sorted(heard[1][1]) == sorted(t.bpmn_id for t in view.open_tasks) != []


def test_a_completed_task_leaves_the_index_with_its_data_cleared(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {"note": 'Siân\'s "case"'}, actor="bu", now=T0)
    first = view.open_tasks[0].id
    services.complete_task(deployed, first, {**CASE, "agencies": ["health"]}, actor="bu", now=T0 + timedelta(minutes=5))
    with deployed.transaction(write=False) as session:
        row = session.get(UserTask, first)
        assert row is not None and row.closed_at is not None and row.data is None
        with pytest.raises(TaskNotReady, match="no longer ready"):
            store.open_task(session, first)
        with pytest.raises(NotFound):
            store.open_task(session, "no-such-task")
    assert store.instance_of_task(deployed, first) is None


def test_of_two_writers_from_the_same_read_one_loses_and_writes_nothing(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    with deployed.transaction(write=False) as session:
        first, second = store.load_instance(session, view.id), store.load_instance(session, view.id)
    with deployed.transaction() as session:
        store.update_row(session, first, {"data": {"winner": "first"}})
    with pytest.raises(Conflict, match="changed by someone else"), deployed.transaction() as session:
        store.update_row(session, second, {"data": {"winner": "second"}})
    with deployed.transaction(write=False) as session:
        assert store.load_instance(session, view.id).data == {"winner": "first"}


def test_an_error_flags_the_instance_and_records_the_status_it_had(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    store.mark_error(deployed, view.id, ScriptFailed("boom in 'triage'"), "timer", T0, "timer")
    after = services.get_instance(deployed, view.id)
    assert (after.status, after.error) == ("error", "boom in 'triage'")
    event = services.list_events(deployed, view.id)[-1]
    assert (event.kind, event.detail) == (
        "error",
        {"during": "timer", "message": "boom in 'triage'", "from": "running"},
    )
    with deployed.transaction(write=False) as session, pytest.raises(InstanceNotActive, match="is error"):
        store.active_instance(session, view.id)
    store.mark_error(deployed, None, ScriptFailed("no instance"), "timer", T0, "timer")  # nothing to flag


def test_an_instance_that_has_ended_is_not_flagged(deployed: Database) -> None:
    view = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    services.set_status(deployed, view.id, "terminate", actor=ADMIN, now=T0, reason="duplicate")
    before = services.list_events(deployed, view.id)
    store.mark_error(deployed, view.id, ScriptFailed("late"), "timer", T0, "timer")
    assert services.get_instance(deployed, view.id).status == "terminated"
    assert services.list_events(deployed, view.id) == before


def test_unknown_instances_and_processes_are_not_found(deployed: Database) -> None:
    with deployed.transaction(write=False) as session:
        with pytest.raises(NotFound, match="instance 999 not found"):
            store.load_instance(session, 999)
        with pytest.raises(NotFound, match="no deployed process 'nope'"):
            store.latest_version_with(session, "nope")
        assert store.latest_version_with(session, "sample_case") == 1


def test_state_packs_and_unpacks_whole() -> None:
    state = '{"name": "Siân", "quote": "it\'s", "emoji": "✓"}' * 100
    assert store.unpack(store.pack(state)) == state
    assert len(store.pack(state)) < len(state.encode())


def test_task_data_is_kept_as_plain_json() -> None:
    assert store.form_data({"when": T0, "names": ["Siân"], "nested": {"n": 1}}) == {
        "when": str(T0),
        "names": ["Siân"],
        "nested": {"n": 1},
    }


def test_lists_filter_in_sql_to_what_the_actor_may_read(deployed: Database) -> None:
    services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    with deployed.transaction(write=False) as session:
        everyone = session.scalars(select(Instance.id)).all()
        for actor, expected in (
            (Actor("aud", frozenset({"auditor"})), everyone),
            (Actor("nobody", frozenset()), []),
        ):
            readable = session.scalars(select(Instance.id).where(store.readable_condition(session, actor))).all()
            assert readable == expected, actor
