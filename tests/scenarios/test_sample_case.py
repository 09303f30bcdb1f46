"""The sample case, driven through the services as its users would: intake, agencies, manager, timers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cprflow import services
from cprflow.core.errors import InstanceNotActive, InvalidData, NotFound, NotWaiting, TaskNotReady
from cprflow.db.database import Database
from cprflow.services import timers
from tests.conftest import T0

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health"],
}
LOW_RISK_CASE = {**CASE, "risk_score": 2}
APPROVAL = {"manager_decision": "approved"}
ESCALATION = {"escalation_reason": "manager away", "manager_decision": "approved"}
ADVICE = {"advice_given": "parenting course", "advice_date": "2026-03-03"}
CLOSURE = {"closed_on": "2026-03-20", "outcome": "closed"}
VISIT = {"visit_date": "2026-06-18", "child_doing_well": True}


def report(summary: str) -> dict[str, Any]:
    return {"agency_report": {"recommendation": "support", "summary": summary}}


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in March 2026 (the sample case starts on 2 March at 09:00 UTC)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def midnight(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def only(view: services.InstanceView, bpmn_id: str) -> services.TaskView:
    found = [t for t in view.open_tasks if t.bpmn_id == bpmn_id]
    assert len(found) == 1, f"expected one open {bpmn_id}, got {[t.bpmn_id for t in view.open_tasks]}"
    return found[0]


def open_ids(view: services.InstanceView) -> list[str]:
    return sorted(t.id for t in view.open_tasks)


def state_of(view: services.InstanceView) -> tuple[Any, ...]:
    """What a user sees of an instance, open tasks in a stable order."""
    tasks = sorted((t.id, t.bpmn_id, t.assignee, t.due_at, t.ready_at) for t in view.open_tasks)
    return (
        view.status,
        view.data,
        view.next_timer_at,
        view.waiting_for,
        view.error,
        view.updated_at,
        view.version_id,
        tasks,
    )


def kinds(db: Database, instance_id: int) -> list[str]:
    return [e.kind for e in services.list_events(db, instance_id)]


@pytest.fixture
def reopen(deployed: Database) -> Iterator[Callable[[], Database]]:
    """A brand-new Database object on the same file: proves nothing lives in memory between steps."""
    opened: list[Database] = []

    def _reopen() -> Database:
        fresh = Database(deployed.url)
        opened.append(fresh)
        return fresh

    yield _reopen
    for each in opened:
        each.dispose()


def recorded(db: Database, case: dict[str, Any] = CASE, *, when: datetime = T0) -> services.InstanceView:
    """A started instance whose case has been recorded at ``when``."""
    started = services.start_instance(db, "sample_case", {}, actor="intake", now=T0)
    return services.complete_task(db, started.open_tasks[0].id, case, actor="intake", now=when)


# ---------------------------------------------------------------------------------------------
# Whole journeys


def test_urgent_case_with_two_agencies_runs_to_completion(deployed: Database, reopen: Callable[[], Database]) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)
    assert started.status == "running"
    record = only(started, "record_case")
    assert record.lane == "Intake"
    assert record.due_at == midnight("2026-03-04")  # today + 2 days, today being 2 March
    assert record.ready_at == T0
    detail = services.get_task(deployed, record.id)
    assert detail.task.id == record.id
    assert "risk_score" in detail.schema["properties"]
    assert detail.ui_schema is not None and detail.ui_schema["ui:order"][0] == "child_name"

    # Intake records the case a day later: the review tasks' due dates count from then.
    db = reopen()
    recorded_at = at(3)
    view = services.complete_task(db, record.id, CASE, actor="intake", now=recorded_at)
    assert view.status == "running"
    assert view.data["priority"] == "urgent"
    agency_tasks = [t for t in view.open_tasks if t.bpmn_id == "agency_review"]
    assert sorted(t.assignee for t in agency_tasks) == ["health", "police"]
    assert {t.lane for t in agency_tasks} == {"Agencies"}
    assert {t.due_at for t in agency_tasks} == {midnight("2026-03-08")}
    assert {t.ready_at for t in agency_tasks} == {recorded_at}
    approval = only(view, "manager_approval")
    assert approval.lane == "Manager"
    assert approval.due_at == midnight("2026-03-06")
    assert view.next_timer_at == recorded_at + timedelta(days=1)  # the reminder comes first

    assert [t.bpmn_id for t in services.list_tasks(db, assignee="police")] == ["agency_review"]
    assert [t.id for t in services.list_tasks(db, lane="Manager")] == [approval.id]

    db = reopen()
    for agency in ("police", "health"):
        (mine,) = services.list_tasks(db, assignee=agency, instance_id=view.id)
        view = services.complete_task(db, mine.id, report(f"{agency} report"), actor=agency, now=at(3, 11))
        assert view.status == "running"
    view = services.complete_task(db, approval.id, APPROVAL, actor="manager", now=at(3, 12))
    assert view.status == "waiting"
    assert view.open_tasks == []
    assert view.next_timer_at == at(3, 13)  # one hour after the last branch completed
    assert view.waiting_for == []
    assert [r["summary"] for r in view.data["agency_reports"]] == ["police report", "health report"]

    db = reopen()
    assert timers.run_due(db, now=at(3, 12, 59)).fired == []
    run = timers.run_due(db, now=at(3, 13, 5))
    assert run.fired == [view.id]
    view = services.get_instance(db, view.id)
    assert view.status == "waiting"
    assert view.waiting_for == ["case_closed"]
    assert view.next_timer_at is None

    db = reopen()
    view = services.send_message(db, view.id, "case_closed", CLOSURE, actor="court", now=at(20))
    assert view.status == "running"
    visit = only(view, "followup_visit")
    assert visit.due_at == midnight("2026-06-20")  # closed_on + 3 months
    assert visit.lane == "Intake"

    db = reopen()
    visited_at = datetime(2026, 6, 18, 15, tzinfo=UTC)
    view = services.complete_task(db, visit.id, VISIT, actor="visitor", now=visited_at)
    assert view.status == "completed"
    assert view.open_tasks == []
    assert view.next_timer_at is None
    assert services.list_tasks(db, instance_id=view.id) == []
    final = services.get_instance(reopen(), view.id)
    assert final.status == "completed"
    assert len(final.data["agency_reports"]) == 2

    events = services.list_events(db, view.id)
    assert [e.kind for e in events] == [
        "started",
        "task_completed",
        "task_completed",
        "task_completed",
        "task_completed",
        "timer_fired",
        "message_received",
        "task_completed",
    ]
    completed = [(e.detail["bpmn_id"], e.actor) for e in events if e.kind == "task_completed"]
    assert completed == [
        ("record_case", "intake"),
        ("agency_review", "police"),
        ("agency_review", "health"),
        ("manager_approval", "manager"),
        ("followup_visit", "visitor"),
    ]
    assert events[5].detail["timers"] == ["wait_one_hour"]
    assert events[6].detail["payload"] == CLOSURE


def test_low_risk_case_records_advice_instead_of_a_review(deployed: Database, reopen: Callable[[], Database]) -> None:
    view = recorded(deployed, LOW_RISK_CASE, when=at(2, 10))
    assert view.data["priority"] == "low"
    advice = only(view, "record_advice")
    assert [t.bpmn_id for t in view.open_tasks] == ["record_advice"]
    assert advice.lane == "Intake"
    assert advice.due_at is None
    assert services.list_tasks(deployed, lane="Agencies") == []

    db = reopen()
    view = services.complete_task(db, advice.id, ADVICE, actor="intake", now=at(3))
    assert view.status == "waiting"
    assert view.next_timer_at == at(3, 10)
    assert timers.run_due(db, now=at(3, 10, 1)).fired == [view.id]

    db = reopen()
    view = services.send_message(db, view.id, "case_closed", CLOSURE, actor="court", now=at(20))
    view = services.complete_task(db, only(view, "followup_visit").id, VISIT, actor="visitor", now=at(25))
    assert view.status == "completed"
    assert view.data["advice_given"] == "parenting course"
    assert "agency_reports" not in view.data
    assert [e.detail.get("bpmn_id") for e in services.list_events(db, view.id) if e.kind == "task_completed"] == [
        "record_case",
        "record_advice",
        "followup_visit",
    ]


# ---------------------------------------------------------------------------------------------
# Timers


def test_non_interrupting_reminder_fires_once_and_leaves_manager_approval_open(
    deployed: Database, reopen: Callable[[], Database]
) -> None:
    view = recorded(deployed)
    approval = only(view, "manager_approval")
    assert view.next_timer_at == T0 + timedelta(days=1)

    db = reopen()
    run = timers.run_due(db, now=T0 + timedelta(days=1, minutes=5))
    assert run.fired == [view.id]
    after = services.get_instance(db, view.id)
    assert after.status == "running"
    assert only(after, "manager_approval").id == approval.id
    assert open_ids(after) == open_ids(view)
    assert after.next_timer_at == T0 + timedelta(days=3)  # now the escalation is next

    db = reopen()
    assert timers.run_due(db, now=T0 + timedelta(days=2, hours=23)).fired == []
    assert [e.detail["timers"] for e in services.list_events(db, view.id) if e.kind == "timer_fired"] == [
        ["reminder_timer"],
    ]
    # The manager can still approve the original task after the reminder.
    approved = services.complete_task(db, approval.id, APPROVAL, actor="manager", now=T0 + timedelta(days=2))
    assert [t.bpmn_id for t in approved.open_tasks] == ["agency_review", "agency_review"]
    assert approved.next_timer_at is None


def test_interrupting_timer_replaces_manager_approval_with_escalation(
    deployed: Database, reopen: Callable[[], Database]
) -> None:
    view = recorded(deployed)
    only(view, "manager_approval")  # it is open before the timer
    agency_ids = sorted(t.id for t in view.open_tasks if t.bpmn_id == "agency_review")
    timers.run_due(deployed, now=T0 + timedelta(days=1, minutes=5))  # the reminder

    db = reopen()
    escalated_at = T0 + timedelta(days=3, minutes=5)
    run = timers.run_due(db, now=escalated_at)
    assert run.fired == [view.id]
    after = services.get_instance(db, view.id)
    assert after.status == "running"
    assert [t.bpmn_id for t in after.open_tasks if t.lane == "Manager"] == ["escalate"]
    assert sorted(t.id for t in after.open_tasks if t.bpmn_id == "agency_review") == agency_ids
    escalate = only(after, "escalate")
    assert escalate.ready_at == escalated_at
    assert after.next_timer_at is None
    assert [t.bpmn_id for t in services.list_tasks(db, lane="Manager")] == ["escalate"]

    view = services.complete_task(db, escalate.id, ESCALATION, actor="director", now=escalated_at + timedelta(hours=1))
    assert view.data["manager_decision"] == "approved"
    assert view.data["escalation_reason"] == "manager away"


def test_cancelled_manager_approval_is_no_longer_ready_after_escalation(deployed: Database) -> None:
    view = recorded(deployed)
    approval = only(view, "manager_approval")
    timers.run_due(deployed, now=T0 + timedelta(days=3, minutes=5))
    before = services.get_instance(deployed, view.id)
    events = kinds(deployed, view.id)

    # A manager who opened the form before the escalation submits it afterwards.
    with pytest.raises(TaskNotReady):
        services.complete_task(deployed, approval.id, APPROVAL, actor="manager", now=T0 + timedelta(days=3, hours=1))

    assert state_of(services.get_instance(deployed, view.id)) == state_of(before)
    assert kinds(deployed, view.id) == events


def test_reminder_script_result_shows_in_instance_data(deployed: Database) -> None:
    view = recorded(deployed)
    assert "reminded" not in view.data

    timers.run_due(deployed, now=T0 + timedelta(days=1, minutes=5))

    assert services.get_instance(deployed, view.id).data.get("reminded") is True


def test_timer_fires_at_exactly_its_due_time(deployed: Database) -> None:
    view = recorded(deployed)
    due = view.next_timer_at
    assert due == T0 + timedelta(days=1)

    run = timers.run_due(deployed, now=due)

    after = services.get_instance(deployed, view.id)
    assert run.fired == [view.id]
    # The reminder has gone off, so the escalation is what comes next.
    assert after.next_timer_at == T0 + timedelta(days=3), "run_due reported the reminder fired, but it did not"
    # Running again a moment later has nothing left to fire and records nothing more.
    assert timers.run_due(deployed, now=due + timedelta(seconds=1)).fired == []
    assert [e.detail["timers"] for e in services.list_events(deployed, view.id) if e.kind == "timer_fired"] == [
        ["reminder_timer"],
    ]


def test_run_due_before_the_due_time_fires_nothing(deployed: Database) -> None:
    view = recorded(deployed)
    events = kinds(deployed, view.id)

    run = timers.run_due(deployed, now=view.next_timer_at - timedelta(seconds=1))

    assert (run.fired, run.failed, run.conflicts) == ([], [], [])
    after = services.get_instance(deployed, view.id)
    assert state_of(after) == state_of(view)
    assert kinds(deployed, view.id) == events


def test_next_timer_at_is_the_earliest_pending_timer(deployed: Database) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)
    assert started.next_timer_at is None

    recorded_at = T0 + timedelta(hours=5)
    view = services.complete_task(deployed, started.open_tasks[0].id, CASE, actor="intake", now=recorded_at)
    # reminder (1 day) and escalation (3 days) are both pending: the reminder is reported
    assert view.next_timer_at == recorded_at + timedelta(days=1)
    assert services.get_instance(deployed, view.id).next_timer_at == recorded_at + timedelta(days=1)

    timers.run_due(deployed, now=recorded_at + timedelta(days=1, minutes=1))
    assert services.get_instance(deployed, view.id).next_timer_at == recorded_at + timedelta(days=3)


# ---------------------------------------------------------------------------------------------
# Messages


def test_message_before_anything_waits_for_it_is_refused_and_changes_nothing(deployed: Database) -> None:
    view = recorded(deployed, LOW_RISK_CASE)
    view = services.complete_task(deployed, only(view, "record_advice").id, ADVICE, actor="intake", now=at(2, 10))
    assert view.status == "waiting"
    events = kinds(deployed, view.id)

    # Too early: the one-hour wait comes before the case can be closed.
    with pytest.raises(NotWaiting):
        services.send_message(deployed, view.id, "case_closed", CLOSURE, actor="court", now=at(2, 10, 30))

    assert state_of(services.get_instance(deployed, view.id)) == state_of(view)
    assert kinds(deployed, view.id) == events
    # Once the timer has fired, the same message is accepted.
    timers.run_due(deployed, now=at(2, 11, 1))
    accepted = services.send_message(deployed, view.id, "case_closed", CLOSURE, actor="court", now=at(2, 12))
    assert [t.bpmn_id for t in accepted.open_tasks] == ["followup_visit"]


def test_message_for_a_just_started_instance_is_refused(deployed: Database) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)

    with pytest.raises(NotWaiting):
        services.send_message(deployed, started.id, "case_closed", CLOSURE, actor="court", now=T0 + timedelta(hours=1))

    assert state_of(services.get_instance(deployed, started.id)) == state_of(started)
    assert kinds(deployed, started.id) == ["started"]


# ---------------------------------------------------------------------------------------------
# Form validation: nothing changes when the data does not fit


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({k: v for k, v in CASE.items() if k != "child_name"}, "/child_name"),
        ({**CASE, "risk_score": "high"}, "/risk_score"),
        ({**CASE, "referral_date": "02/03/2026"}, "/referral_date"),
        ({**CASE, "agencies": ["police", "army"]}, "/agencies/1"),
    ],
    ids=["missing-required", "wrong-type", "bad-date", "unknown-agency"],
)
def test_invalid_case_record_is_refused_naming_the_field(
    deployed: Database, data: dict[str, Any], pointer: str
) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)

    with pytest.raises(InvalidData) as caught:
        services.complete_task(deployed, started.open_tasks[0].id, data, actor="intake", now=T0 + timedelta(hours=1))

    assert list(caught.value.fields) == [pointer]
    assert state_of(services.get_instance(deployed, started.id)) == state_of(started)
    assert kinds(deployed, started.id) == ["started"]


def test_unknown_field_is_refused_naming_the_field(deployed: Database) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)

    with pytest.raises(InvalidData) as caught:
        services.complete_task(deployed, started.open_tasks[0].id, {**CASE, "colour": "blue"}, actor="intake", now=T0)

    assert list(caught.value.fields) == ["/colour"]
    assert state_of(services.get_instance(deployed, started.id)) == state_of(started)
    assert kinds(deployed, started.id) == ["started"]


def test_nested_typename_key_is_refused(deployed: Database) -> None:
    view = recorded(deployed)
    police = next(t for t in view.open_tasks if t.assignee == "police")
    events = kinds(deployed, view.id)
    data = {"agency_report": {"recommendation": "support", "summary": "x", "typename": "Task"}}

    with pytest.raises(InvalidData) as caught:
        services.complete_task(deployed, police.id, data, actor="police", now=T0 + timedelta(hours=2))

    assert "/agency_report/typename" in caught.value.fields
    after = services.get_instance(deployed, view.id)
    assert state_of(after) == state_of(view)
    assert open_ids(after) == open_ids(view)
    assert kinds(deployed, view.id) == events


def test_typename_in_start_data_or_message_payload_is_refused(deployed: Database) -> None:
    with pytest.raises(InvalidData) as caught:
        services.start_instance(deployed, "sample_case", {"extra": [{"typename": "X"}]}, actor="intake", now=T0)
    assert list(caught.value.fields) == ["/extra/0/typename"]
    assert services.list_instances(deployed) == ([], 0)

    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)
    with pytest.raises(InvalidData) as caught:
        services.send_message(deployed, started.id, "case_closed", {"typename": "X"}, actor="court", now=T0)
    assert list(caught.value.fields) == ["/typename"]
    assert kinds(deployed, started.id) == ["started"]


# ---------------------------------------------------------------------------------------------
# Unknown and finished tasks


def test_unknown_task_id_is_not_found(deployed: Database) -> None:
    services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)

    with pytest.raises(NotFound):
        services.complete_task(deployed, str(uuid.uuid4()), CASE, actor="intake", now=T0)
    with pytest.raises(NotFound):
        services.get_task(deployed, str(uuid.uuid4()))


def test_completing_a_task_twice_is_refused_as_not_ready(deployed: Database) -> None:
    started = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)
    task_id = started.open_tasks[0].id
    view = services.complete_task(deployed, task_id, CASE, actor="intake", now=T0 + timedelta(hours=1))
    events = kinds(deployed, view.id)

    with pytest.raises(TaskNotReady):
        services.complete_task(deployed, task_id, CASE, actor="intake", now=T0 + timedelta(hours=2))

    assert state_of(services.get_instance(deployed, view.id)) == state_of(view)
    assert kinds(deployed, view.id) == events


def test_starting_an_undeployed_process_is_not_found(deployed: Database) -> None:
    with pytest.raises(NotFound):
        services.start_instance(deployed, "no_such_process", {}, actor="intake", now=T0)


# ---------------------------------------------------------------------------------------------
# Administration


def test_suspend_blocks_completion_and_timers_until_resumed(deployed: Database, reopen: Callable[[], Database]) -> None:
    view = recorded(deployed)
    approval = only(view, "manager_approval")

    suspended = services.set_status(
        deployed, view.id, "suspend", reason="court order", actor="admin", now=T0 + timedelta(hours=1)
    )
    assert suspended.status == "suspended"
    assert open_ids(suspended) == open_ids(view)  # still listed, but cannot be done

    db = reopen()
    with pytest.raises(InstanceNotActive):
        services.complete_task(db, approval.id, APPROVAL, actor="manager", now=T0 + timedelta(hours=2))
    run = timers.run_due(db, now=T0 + timedelta(days=1, minutes=5))
    assert run.fired == []
    assert services.get_instance(db, view.id).next_timer_at == T0 + timedelta(days=1)
    assert kinds(db, view.id) == ["started", "task_completed", "status_changed"]

    db = reopen()
    resumed = services.set_status(
        db, view.id, "resume", reason="order lifted", actor="admin", now=T0 + timedelta(days=1, hours=1)
    )
    assert resumed.status == "running"
    assert timers.run_due(db, now=T0 + timedelta(days=1, hours=1)).fired == [view.id]
    assert services.get_instance(db, view.id).next_timer_at == T0 + timedelta(days=3)  # the reminder went off
    approved = services.complete_task(db, approval.id, APPROVAL, actor="manager", now=T0 + timedelta(days=1, hours=2))
    assert "manager_approval" not in [t.bpmn_id for t in approved.open_tasks]

    changes = [e.detail for e in services.list_events(db, view.id) if e.kind == "status_changed"]
    assert [(c["action"], c["from"], c["to"], c["reason"]) for c in changes] == [
        ("suspend", "running", "suspended", "court order"),
        ("resume", "suspended", "running", "order lifted"),
    ]


def test_terminate_clears_open_tasks_and_stops_timers(deployed: Database) -> None:
    view = recorded(deployed)
    approval = only(view, "manager_approval")

    ended = services.set_status(
        deployed, view.id, "terminate", reason="duplicate referral", actor="admin", now=T0 + timedelta(hours=1)
    )

    assert ended.status == "terminated"
    assert ended.open_tasks == []
    assert services.list_tasks(deployed, instance_id=view.id) == []
    assert services.list_tasks(deployed, lane="Manager") == []
    assert timers.run_due(deployed, now=T0 + timedelta(days=5)).fired == []
    with pytest.raises((TaskNotReady, InstanceNotActive)):
        services.complete_task(deployed, approval.id, APPROVAL, actor="manager", now=T0 + timedelta(hours=2))
    with pytest.raises(InstanceNotActive):
        services.set_status(deployed, view.id, "resume", reason="oops", actor="admin", now=T0 + timedelta(hours=3))
    assert services.get_instance(deployed, view.id).status == "terminated"


@pytest.mark.parametrize("action", ["suspend", "terminate"])
def test_status_change_needs_a_reason(deployed: Database, action: str) -> None:
    view = recorded(deployed)

    with pytest.raises(InvalidData) as caught:
        services.set_status(deployed, view.id, action, reason="   ", actor="admin", now=T0 + timedelta(hours=1))

    assert "/reason" in caught.value.fields
    assert state_of(services.get_instance(deployed, view.id)) == state_of(view)
    assert "status_changed" not in kinds(deployed, view.id)
