"""Use cases of instances: start one, read it and its events, send it a message, suspend, resume,
terminate or retry it.

Each function frames exactly one transaction: state, task index and event are written together or
not at all. Time is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, null, select, update

from cprflow import engine
from cprflow.core import access, expressions, forms, operators
from cprflow.core.errors import Forbidden, InstanceNotActive, InvalidData, NotFound, NotWaiting, ScriptFailed
from cprflow.core.register import Filters
from cprflow.core.views import EventView, InstanceView
from cprflow.db import audit, guards, register, store
from cprflow.db.database import Database
from cprflow.db.models import ACTIVE_STATUSES, Event, Instance, UserTask
from cprflow.db.store import (
    Version,
    active_instance,
    deployed_version,
    instance_view,
    load_instance,
    load_workflow,
    readable_condition,
    record_event,
    save_step,
    update_row,
)


def start_instance(
    db: Database,
    process_id: str,
    data: dict[str, Any],
    *,
    actor: access.Caller,
    now: datetime,
    step_seconds: float = engine.DEFAULT_STEP_SECONDS,
) -> InstanceView:
    """Start a process on the newest version that has it, if the caller may start it, with data that
    fits the process's start form when its diagram declares one."""
    forms.check_reserved(data)
    with db.transaction() as session:
        version_id = guards.require_start(session, actor, process_id)
        _check_start_data(deployed_version(session, version_id), process_id, data, now)
        who = access.name_of(actor)
        instance, tasks = store.start_instance(session, process_id, version_id, data, who, now, step_seconds)
        return guards.shaped(session, actor, instance_view(session, instance, tasks=tasks), strict=False)


@dataclass(frozen=True)
class StartFormView:
    """A process's start form as its starter sees it: the schema, the UI schema (or None)."""

    process_id: str
    schema: dict[str, Any]
    ui_schema: dict[str, Any] | None


def start_form(db: Database, process_id: str, *, actor: access.Caller) -> StartFormView | None:
    """The start form of the newest version that has the process (None if it declares none), for
    those who may start it."""
    with db.transaction(write=False) as session:
        version = deployed_version(session, guards.require_start(session, actor, process_id))
        declared = version.start_forms.get(process_id)
        if declared is None:
            return None
        ui = version.forms.get(declared.ui_schema) if declared.ui_schema else None
        return StartFormView(process_id, version.forms[declared.schema], ui if isinstance(ui, dict) else None)


def check_start(db: Database, process_id: str, data: dict[str, Any], *, actor: access.Caller, now: datetime) -> None:
    """Would ``start_instance`` accept this data? Raises what it would; changes nothing."""
    forms.check_reserved(data)
    with db.transaction(write=False) as session:
        _check_start_data(
            deployed_version(session, guards.require_start(session, actor, process_id)), process_id, data, now
        )


def _check_start_data(version: Version, process_id: str, data: dict[str, Any], now: datetime) -> None:
    declared = version.start_forms.get(process_id)
    if declared is None:
        return
    schema = version.forms[declared.schema]
    forms.validate(schema, data, today=now.astimezone(expressions.WALES).date())
    with expressions.engine_context(now, engine.DEFAULT_STEP_SECONDS):
        forms.check_rules(schema, data, {})


def may_start(db: Database, actor: access.Actor, process_id: str) -> bool:
    """Whether the person may start the process (pages offer the button only then)."""
    with db.transaction(write=False) as session:
        try:
            guards.require_start(session, actor, process_id)
        except (Forbidden, NotFound):
            return False
        return True


def get_instance(db: Database, instance_id: int, *, actor: access.Actor | None = None) -> InstanceView:
    """One instance with its open tasks; a person who may not read it is told it is not there."""
    with db.transaction(write=False) as session:
        return guards.shaped(session, actor, instance_view(session, load_instance(session, instance_id)))


def list_instances(
    db: Database,
    *,
    actor: access.Actor | None = None,
    status: str | None = None,
    process_id: str | None = None,
    filters: Filters | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[InstanceView], int]:
    """A page of instances (newest first unless ``filters`` sort otherwise) and how many there are:
    only those the person may read, filtered in the database (``db.register``)."""
    filters = filters or Filters()
    filters = replace(filters, status=status or filters.status, process_id=process_id or filters.process_id)
    with db.transaction(write=False) as session:
        query = select(Instance)
        if actor is not None:
            query = query.where(readable_condition(session, actor))
        query = register.narrowed(session, query, filters)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(register.ordered(query, filters).limit(limit).offset(offset)).all()
        return [guards.shaped(session, actor, instance_view(session, row, with_tasks=False)) for row in rows], total


def list_events(
    db: Database, instance_id: int, *, actor: access.Actor | None = None, limit: int = 200, offset: int = 0
) -> list[EventView]:
    with db.transaction(write=False) as session:
        guards.require_full_read(session, actor, load_instance(session, instance_id))
        rows = session.scalars(
            select(Event).where(Event.instance_id == instance_id).order_by(Event.id).limit(limit).offset(offset)
        ).all()
        return [EventView(r.id, r.instance_id, r.at, r.kind, r.actor, r.task_id, r.detail) for r in rows]


def record_read(db: Database, instance_id: int, *, actor: str, now: datetime, what: str) -> None:
    """Reading a case is itself an event: auditors see who looked at what."""
    with db.transaction() as session:
        store.record_read(session, instance_id, actor, now, what)


def send_message(
    db: Database,
    instance_id: int,
    name: str,
    payload: dict[str, Any],
    *,
    actor: access.Caller,
    now: datetime,
    step_seconds: float = engine.DEFAULT_STEP_SECONDS,
) -> InstanceView:
    """Send a message (a hold starting or ending...) into an instance waiting for it.

    The payload must fit the schema the diagram names for the message, rules included; and as a
    message is input from outside, diagram code failing on it refuses the message (422) and leaves
    the instance as it was, rather than putting it in error."""
    forms.check_reserved(payload)
    who = access.name_of(actor)
    try:
        with db.transaction() as session:
            instance = load_instance(session, instance_id)
            guards.require_send(session, actor, instance, name)
            instance = active_instance(session, instance_id, instance)
            if name not in (instance.waiting_for or []):  # before its payload: the form's rules may read
                # data the diagram records only once it waits (a hold's register), and fail on its absence
                raise NotWaiting(f"nothing in this instance is waiting for '{name}'")
            _check_payload(deployed_version(session, instance.version_id), name, payload, instance.data or {}, now)
            workflow = load_workflow(session, instance)
            before = instance.data
            with operators.step(session, instance.id, who, now) as effects:
                kind = workflow.send(name, payload, now, step_seconds)
                tasks = save_step(session, instance, workflow, now, step_seconds)
            record_event(
                session,
                instance.id,
                f"{kind}_received",
                who,
                now,
                {"name": name, "payload": payload, "changes": audit.changes(before, instance.data)},
            )
            effects.apply(instance.id)
            return guards.shaped(session, actor, instance_view(session, instance, tasks=tasks), strict=False)
    except ScriptFailed as err:
        raise InvalidData(f"the message '{name}' was refused: {err.message}", fields={"/": [err.message]}) from None


def message_schema(db: Database, version_id: int, name: str) -> dict[str, Any] | None:
    """The form a version's diagrams name for message ``name`` (what a page asks for it), if any."""
    with db.transaction(write=False) as session:
        version = deployed_version(session, version_id)
    return version.forms.get(version.message_schemas.get(name) or "")


def _check_payload(version: Version, name: str, payload: dict[str, Any], case: dict[str, Any], now: datetime) -> None:
    """The payload against the message's schema and its rules (which may read the case's data)."""
    schema = version.forms.get(version.message_schemas.get(name) or "")
    if schema is None:
        return
    forms.validate(schema, payload)
    with expressions.engine_context(now, engine.DEFAULT_STEP_SECONDS):
        forms.check_rules(schema, payload, case)


def set_status(
    db: Database, instance_id: int, action: str, *, reason: str, actor: access.Caller, now: datetime
) -> InstanceView:
    """suspend, resume, terminate or retry (after an error), each with its reason recorded (admins)."""
    guards.require_admin(actor)
    if not reason.strip():
        raise InvalidData("a reason is required", fields={"/reason": ["is required"]})
    allowed = {
        "suspend": ACTIVE_STATUSES,
        "resume": ("suspended",),
        "terminate": (*ACTIVE_STATUSES, "suspended", "error"),
        "retry": ("error",),
    }
    if action not in allowed:
        raise InvalidData(
            f"unknown action '{action}'", fields={"/action": ["must be suspend, resume, terminate or retry"]}
        )
    with db.transaction() as session:
        instance = load_instance(session, instance_id)
        if instance.status not in allowed[action]:
            raise InstanceNotActive(f"cannot {action} an instance that is {instance.status}")
        if action == "suspend":
            new_status = "suspended"
        elif action == "terminate":
            new_status = "terminated"
        else:
            new_status = (
                "running"
                if session.scalar(
                    select(func.count()).where(UserTask.instance_id == instance_id, UserTask.closed_at.is_(None))
                )
                else "waiting"
            )
        previous = instance.status
        values = {"status": new_status, "error": None, "updated_at": now}
        update_row(session, instance, values)
        if new_status == "terminated":
            session.execute(
                update(UserTask)
                .where(UserTask.instance_id == instance_id, UserTask.closed_at.is_(None))
                .values(closed_at=now, data=null())
            )
        record_event(
            session,
            instance_id,
            "status_changed",
            access.name_of(actor),
            now,
            {"action": action, "from": previous, "to": new_status, "reason": reason},
        )
        for key, value in values.items():
            setattr(instance, key, value)
        return instance_view(session, instance)


@dataclass(frozen=True)
class CaseActions:
    """What the person may do to a case from its page (the pages offer only these)."""

    send: frozenset[str]  # messages, such as hold_started and hold_ended
    admin: bool  # suspend, resume, terminate
    assign: bool  # give tasks to colleagues
    whole: bool = False  # reads the whole case (its history and trace), not only what a task shows


def case_actions(db: Database, instance_id: int, *, actor: access.Actor) -> CaseActions:
    with db.transaction(write=False) as session:
        instance = load_instance(session, instance_id)
        perms = deployed_version(session, instance.version_id).permissions
        return CaseActions(
            frozenset(m for m in perms.message_senders if access.can_send(actor, perms, m)),
            actor.is_admin,
            access.can_assign(actor, perms),
            access.can_read_case(actor, perms, instance.data or {}),
        )
