"""Diagram code that passes the deploy checks but fails when it runs: nothing half-done, an error to retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from cprflow import services
from cprflow.core.errors import InstanceNotActive, ScriptFailed
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import timers
from tests.conftest import ROOT, T0

FAILING = ROOT / "tests" / "fixtures" / "failing"


@pytest.fixture
def failing(db: Database) -> Database:
    services.deploy(db, diagram_set.read_directories(FAILING / "processes", FAILING / "forms"), actor="owner", now=T0)
    return db


@pytest.fixture
def fresh(failing: Database) -> Iterator[Database]:
    """Another Database object on the same file: what it sees was committed."""
    other = Database(failing.url)
    yield other
    other.dispose()


def state_of(view: services.InstanceView) -> tuple[Any, ...]:
    return (view.data, view.next_timer_at, view.waiting_for, sorted((t.id, t.bpmn_id) for t in view.open_tasks))


def kinds(db: Database, instance_id: int) -> list[str]:
    return [e.kind for e in services.list_events(db, instance_id)]


# ---------------------------------------------------------------------------------------------
# A script failing while a user completes a task


def test_failing_script_leaves_the_instance_at_its_last_committed_state(failing: Database, fresh: Database) -> None:
    started = services.start_instance(failing, "divide", {}, actor="clerk", now=T0)
    (task,) = started.open_tasks

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(failing, task.id, {"divisor": 0}, actor="clerk", now=T0 + timedelta(hours=1))
    assert "divide_it" in caught.value.message

    after = services.get_instance(fresh, started.id)
    assert state_of(after) == state_of(started)
    assert "divisor" not in after.data
    assert [t.id for t in after.open_tasks] == [task.id]  # still there to retry...
    assert services.list_tasks(fresh, instance_id=started.id) == []  # ...but not offered while in error
    assert after.status == "error"
    assert after.error is not None and "divide_it" in after.error
    assert "division by zero" in after.error
    events = services.list_events(fresh, started.id)
    assert [e.kind for e in events] == ["started", "error"]
    assert "divide_it" in events[-1].detail["message"]
    assert events[-1].actor == "clerk"


def test_error_event_records_the_status_before_the_failure(failing: Database) -> None:
    started = services.start_instance(failing, "divide", {}, actor="clerk", now=T0)

    with pytest.raises(ScriptFailed):
        services.complete_task(failing, started.open_tasks[0].id, {"divisor": 0}, actor="clerk", now=T0)

    (error,) = [e for e in services.list_events(failing, started.id) if e.kind == "error"]
    assert error.detail["from"] == "running"


def test_instance_in_error_refuses_completion_until_retried(failing: Database, fresh: Database) -> None:
    started = services.start_instance(failing, "divide", {}, actor="clerk", now=T0)
    task_id = started.open_tasks[0].id
    with pytest.raises(ScriptFailed):
        services.complete_task(failing, task_id, {"divisor": 0}, actor="clerk", now=T0)

    with pytest.raises(InstanceNotActive):
        services.complete_task(fresh, task_id, {"divisor": 4}, actor="clerk", now=T0 + timedelta(minutes=5))
    assert kinds(fresh, started.id) == ["started", "error"]
    with pytest.raises(InstanceNotActive):
        services.set_status(fresh, started.id, "resume", reason="not how errors are cleared", actor="admin", now=T0)

    retried = services.set_status(
        fresh,
        started.id,
        "retry",
        reason="divisor corrected with the clerk",
        actor="admin",
        now=T0 + timedelta(minutes=10),
    )
    assert retried.status == "running"
    assert [t.id for t in retried.open_tasks] == [task_id]
    assert services.get_instance(failing, started.id).error is None

    done = services.complete_task(failing, task_id, {"divisor": 4}, actor="clerk", now=T0 + timedelta(minutes=15))
    assert done.status == "running"
    assert done.data["result"] == 25
    assert [t.bpmn_id for t in done.open_tasks] == ["read_result"]
    assert kinds(failing, started.id) == ["started", "error", "status_changed", "task_completed"]


def test_retry_answers_with_the_instance_as_it_now_is(failing: Database) -> None:
    started = services.start_instance(failing, "divide", {}, actor="clerk", now=T0)
    with pytest.raises(ScriptFailed):
        services.complete_task(failing, started.open_tasks[0].id, {"divisor": 0}, actor="clerk", now=T0)
    retried_at = T0 + timedelta(minutes=10)

    retried = services.set_status(
        failing, started.id, "retry", reason="divisor corrected", actor="admin", now=retried_at
    )

    stored = services.get_instance(failing, started.id)
    assert (stored.status, stored.error, stored.updated_at) == ("running", None, retried_at)
    assert (retried.status, retried.error, retried.updated_at) == ("running", None, retried_at)


def test_endless_loop_is_stopped_at_the_step_time_bound(failing: Database, fresh: Database) -> None:
    started = services.start_instance(failing, "endless", {}, actor="clerk", now=T0)
    (task,) = started.open_tasks

    with pytest.raises(ScriptFailed):
        services.complete_task(failing, task.id, {"divisor": 1}, actor="clerk", now=T0, step_seconds=0.5)

    after = services.get_instance(fresh, started.id)
    assert after.status == "error"
    assert state_of(after) == state_of(started)
    assert kinds(fresh, started.id) == ["started", "error"]
    retried = services.set_status(fresh, started.id, "retry", reason="try again", actor="admin", now=T0)
    assert [t.id for t in retried.open_tasks] == [task.id]


def test_endless_loop_error_names_the_script_task(failing: Database) -> None:
    started = services.start_instance(failing, "endless", {}, actor="clerk", now=T0)

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(
            failing, started.open_tasks[0].id, {"divisor": 1}, actor="clerk", now=T0, step_seconds=0.5
        )

    assert "count_up" in caught.value.message
    error = services.get_instance(failing, started.id).error
    assert error is not None and "count_up" in error


# ---------------------------------------------------------------------------------------------
# A script failing when a timer fires


def test_failing_timer_path_is_reported_flagged_and_not_retried_by_the_next_run(
    failing: Database, fresh: Database
) -> None:
    started = services.start_instance(failing, "divide_later", {}, actor="clerk", now=T0)
    waiting = services.complete_task(failing, started.open_tasks[0].id, {"divisor": 0}, actor="clerk", now=T0)
    assert waiting.status == "waiting"
    assert waiting.next_timer_at == T0 + timedelta(hours=1)

    run = timers.run_due(fresh, now=T0 + timedelta(hours=1, minutes=1))

    assert run.failed == [started.id]
    assert run.fired == []
    after = services.get_instance(fresh, started.id)
    assert after.status == "error"
    assert after.error is not None and "divide_after_wait" in after.error
    assert after.next_timer_at == waiting.next_timer_at  # still the timer it failed on
    assert after.open_tasks == []
    events = services.list_events(fresh, started.id)
    assert [e.kind for e in events] == ["started", "task_completed", "error"]
    assert events[-1].actor == "timer"

    again = timers.run_due(failing, now=T0 + timedelta(hours=5))
    assert (again.fired, again.failed, again.conflicts) == ([], [], [])
    assert kinds(failing, started.id) == ["started", "task_completed", "error"]

    # An admin's retry puts the timer back in line; the next run tries (and here fails) again.
    retried = services.set_status(
        failing, started.id, "retry", reason="try again", actor="admin", now=T0 + timedelta(hours=6)
    )
    assert retried.status == "waiting"
    assert timers.run_due(fresh, now=T0 + timedelta(hours=6)).failed == [started.id]


def test_failed_timer_error_event_records_the_status_before_the_failure(failing: Database) -> None:
    started = services.start_instance(failing, "divide_later", {}, actor="clerk", now=T0)
    services.complete_task(failing, started.open_tasks[0].id, {"divisor": 0}, actor="clerk", now=T0)

    timers.run_due(failing, now=T0 + timedelta(hours=2))

    (error,) = [e for e in services.list_events(failing, started.id) if e.kind == "error"]
    assert error.detail["from"] == "waiting"
    assert error.detail["during"] == "timer"


# ---------------------------------------------------------------------------------------------
# Diagram code raising what is not an Exception (SystemExit, KeyboardInterrupt, GeneratorExit)


@pytest.mark.parametrize(
    ("divisor", "raised", "element"),
    [
        (1, "SystemExit", "escape_now"),
        (2, "KeyboardInterrupt", "escape_now"),
        (3, "GeneratorExit", "escape_now"),
        (4, "SystemExit", "escape_flow_now"),  # raised from a gateway's condition
    ],
)
def test_diagram_code_raising_an_exit_fails_its_step_and_nothing_else(
    failing: Database, fresh: Database, divisor: int, raised: str, element: str
) -> None:
    started = services.start_instance(failing, "escape", {}, actor="clerk", now=T0)
    (task,) = started.open_tasks

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(failing, task.id, {"divisor": divisor}, actor="clerk", now=T0 + timedelta(minutes=1))

    assert raised in caught.value.message
    after = services.get_instance(fresh, started.id)
    assert after.status == "error"
    assert after.error is not None and raised in after.error
    assert state_of(after) == state_of(started)
    assert kinds(fresh, started.id) == ["started", "error"]


def test_a_timer_whose_code_raises_system_exit_fails_only_its_instance(failing: Database, fresh: Database) -> None:
    exits = services.start_instance(failing, "escape", {}, actor="clerk", now=T0)
    services.complete_task(failing, exits.open_tasks[0].id, {"divisor": 5}, actor="clerk", now=T0)
    fine = services.start_instance(failing, "divide_later", {}, actor="clerk", now=T0)
    services.complete_task(failing, fine.open_tasks[0].id, {"divisor": 4}, actor="clerk", now=T0)

    run = timers.run_due(fresh, now=T0 + timedelta(hours=2))

    assert run.failed == [exits.id]
    assert run.fired == [fine.id]
    failed = services.get_instance(fresh, exits.id)
    assert failed.status == "error"
    assert failed.error is not None and "SystemExit" in failed.error and "escape_later" in failed.error
    assert services.get_instance(fresh, fine.id).data["result"] == 25


# ---------------------------------------------------------------------------------------------
# The engine's own work: multi-instance activities


def test_a_multi_instance_with_too_many_instances_from_the_data_fails_before_making_any(
    failing: Database, fresh: Database
) -> None:
    started = services.start_instance(failing, "many", {}, actor="clerk", now=T0)

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(failing, started.open_tasks[0].id, {"divisor": 3000}, actor="clerk", now=T0)

    assert "3,000 instances" in caught.value.message and "each_of_many" in caught.value.message
    after = services.get_instance(fresh, started.id)
    assert after.status == "error"
    assert state_of(after) == state_of(started)


def test_a_multi_instance_over_a_collection_too_long_fails_and_one_within_bounds_runs(
    failing: Database, fresh: Database
) -> None:
    too_many = services.start_instance(failing, "each_item", {"items": list(range(3000))}, actor="clerk", now=T0)
    fine = services.start_instance(failing, "each_item", {"items": list(range(20))}, actor="clerk", now=T0)

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(failing, too_many.open_tasks[0].id, {"divisor": 1}, actor="clerk", now=T0)
    done = services.complete_task(failing, fine.open_tasks[0].id, {"divisor": 1}, actor="clerk", now=T0)

    assert "3,000 instances" in caught.value.message and "handle_item" in caught.value.message
    assert services.get_instance(fresh, too_many.id).status == "error"
    assert done.status == "completed"


def test_the_step_time_bound_covers_the_engines_own_work_not_only_diagram_code(
    failing: Database, fresh: Database
) -> None:
    # 200 instances of a task with no code: nothing but the engine runs, and it outlasts 1 ms.
    started = services.start_instance(failing, "each_item", {"items": list(range(200))}, actor="clerk", now=T0)

    with pytest.raises(ScriptFailed) as caught:
        services.complete_task(
            failing, started.open_tasks[0].id, {"divisor": 1}, actor="clerk", now=T0, step_seconds=0.001
        )

    assert "time bound" in caught.value.message
    after = services.get_instance(fresh, started.id)
    assert after.status == "error"
    assert state_of(after) == state_of(started)
