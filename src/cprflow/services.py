"""Use cases: deploy, start, list and complete tasks, send messages, suspend and resume.

Each function frames exactly one transaction (or one per instance for timers, see timers.py):
state, task index and event are written together or not at all. Time is always an argument.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from cprflow import access, audit, docfields, documents, engine, forms, operators, processes
from cprflow.errors import Conflict, InstanceNotActive, InvalidData, NotFound, ScriptFailed, TaskNotReady
from cprflow.models import ACTIVE_STATUSES, Event, Instance, ProcessVersion, UserTask
from cprflow.repository import Database
from cprflow.store import (  # noqa: F401 - the views are part of this module's interface
    INSTANCES,
    TASKS,
    DeployResult,
    EventView,
    InstanceView,
    TaskView,
    active_instance,
    deployed_version,
    instance_of_task,
    instance_view,
    load_instance,
    load_workflow,
    mark_error,
    open_task,
    pack,
    record_event,
    save_step,
    status_of,
    sync_tasks,
    task_view,
    unpack,
    update_row,
)

DEFAULT_STEP_SECONDS = 5.0

# ---------------------------------------------------------------------------------------------
# Deploy


def deploy(
    db: Database, diagrams: processes.DiagramSet, *, actor: str, now: datetime, note: str | None = None
) -> DeployResult:
    """Store the set as a new version; the same content again is a no-op returning the old one.

    ``note`` says why, in the deployer's words; it is kept with the version and its event."""
    content_hash = diagrams.content_hash
    with db.transaction(write=False) as session:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        if existing is not None:
            return DeployResult(existing.id, False, content_hash, existing.processes)
    checked = processes.check(diagrams)  # slow; holds no lock
    listed = [{"id": p.id, "name": p.name, "file": p.file} for p in checked.processes]
    with db.transaction() as session:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        if existing is not None:  # someone deployed the same set meanwhile
            return DeployResult(existing.id, False, content_hash, existing.processes)
        version = ProcessVersion(
            content_hash=content_hash,
            deployed_at=now,
            deployed_by=actor,
            files={n: c.decode("utf-8") for n, c in diagrams.files.items()},
            processes=listed,
            specs=zlib.compress(checked.specs_json.encode()),
            note=note,
        )
        session.add(version)
        session.flush()
        record_event(
            session,
            None,
            "deployed",
            actor,
            now,
            {
                "version_id": version.id,
                "content_hash": content_hash,
                "processes": [p["id"] for p in listed],
                "note": note,
            },
        )
        return DeployResult(version.id, True, content_hash, listed)


def list_versions(db: Database) -> list[dict[str, Any]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                ProcessVersion.id,
                ProcessVersion.content_hash,
                ProcessVersion.deployed_at,
                ProcessVersion.deployed_by,
                ProcessVersion.processes,
                ProcessVersion.note,
            ).order_by(ProcessVersion.id.desc())
        ).all()
        return [r._asdict() for r in rows]


def newest_files(db: Database) -> dict[str, bytes]:
    """The files of the newest version: the base a partial upload is deployed over."""
    with db.transaction(write=False) as session:
        files = session.scalar(select(ProcessVersion.files).order_by(ProcessVersion.id.desc()).limit(1))
        return {name: text.encode("utf-8") for name, text in (files or {}).items()}


def _latest_version_with(session: Session, process_id: str) -> int:
    for version_id, listed in session.execute(
        select(ProcessVersion.id, ProcessVersion.processes).order_by(ProcessVersion.id.desc())
    ):
        if any(p["id"] == process_id for p in listed):
            return int(version_id)
    raise NotFound(f"no deployed process '{process_id}'")


# ---------------------------------------------------------------------------------------------
# Instances


def start_instance(
    db: Database,
    process_id: str,
    data: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> InstanceView:
    forms.check_reserved(data)
    with db.transaction() as session:
        version_id = _latest_version_with(session, process_id)
        with operators.step(session, None, actor, now) as effects:
            workflow = engine.Workflow.start(
                deployed_version(session, version_id).specs[process_id], data, now, step_seconds
            )
            snapshot = workflow.snapshot(now, step_seconds)
        instance = Instance(
            process_id=process_id,
            version_id=version_id,
            status=status_of(snapshot),
            state=pack(snapshot.state),
            serializer_version=engine.SERIALIZER_VERSION,
            next_timer_at=snapshot.next_timer_at,
            lock_version=1,
            waiting_for=snapshot.waiting_for,
            data=snapshot.data,
            created_at=now,
            created_by=actor,
            updated_at=now,
        )
        session.add(instance)
        session.flush()
        tasks = sync_tasks(session, instance.id, process_id, snapshot, now, {})
        record_event(
            session,
            instance.id,
            "started",
            actor,
            now,
            {"process_id": process_id, "version_id": version_id, "data": data},
        )
        effects.apply(instance.id)
        return instance_view(session, instance, tasks=tasks)


def get_instance(db: Database, instance_id: int) -> InstanceView:
    with db.transaction(write=False) as session:
        return instance_view(session, load_instance(session, instance_id))


def list_instances(
    db: Database, *, status: str | None = None, process_id: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[InstanceView], int]:
    with db.transaction(write=False) as session:
        query = select(Instance)
        if status:
            query = query.where(Instance.status == status)
        if process_id:
            query = query.where(Instance.process_id == process_id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Instance.id.desc()).limit(limit).offset(offset)).all()
        return [instance_view(session, row, with_tasks=False) for row in rows], total


def list_events(db: Database, instance_id: int, *, limit: int = 200, offset: int = 0) -> list[EventView]:
    with db.transaction(write=False) as session:
        load_instance(session, instance_id)
        rows = session.scalars(
            select(Event).where(Event.instance_id == instance_id).order_by(Event.id).limit(limit).offset(offset)
        ).all()
        return [EventView(r.id, r.instance_id, r.at, r.kind, r.actor, r.task_id, r.detail) for r in rows]


# ---------------------------------------------------------------------------------------------
# Tasks


def list_tasks(
    db: Database, *, lane: str | None = None, instance_id: int | None = None, assignee: str | None = None
) -> list[TaskView]:
    """Ready tasks of active instances, soonest due first (suspended and failed ones wait)."""
    with db.transaction(write=False) as session:
        query = (
            select(TASKS, INSTANCES.c.version_id)
            .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
            .where(TASKS.c.closed_at.is_(None), INSTANCES.c.status.in_(ACTIVE_STATUSES))
            .order_by(TASKS.c.due_at.is_(None), TASKS.c.due_at, TASKS.c.ready_at)
        )
        if lane:
            query = query.where(TASKS.c.lane == lane)
        if instance_id is not None:
            query = query.where(TASKS.c.instance_id == instance_id)
        if assignee:
            query = query.where(TASKS.c.assignee == assignee)
        return [task_view(t) for t in session.connection().execute(query)]


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    schema: dict[str, Any]
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]  # the form's fields as the case holds them, overlaid by any saved draft
    instance_data: dict[str, Any]


def get_task(db: Database, task_id: str, *, with_values: bool = True) -> TaskDetail:
    """An open task with its form, UI schema and current values, from the instance's own version.

    The values need the instance's workflow loaded; a caller about to complete the task (which
    loads it anyway) asks ``with_values=False`` and gets only the saved draft."""
    with db.transaction(write=False) as session:
        task = open_task(session, task_id)
        instance = load_instance(session, task.instance_id)
        version = deployed_version(session, instance.version_id)
        schema = version.forms.get(task.form or "") or {"type": "object"}
        ready = load_workflow(session, instance).ready_task(task_id) if with_values else None
        current = ready.data if ready is not None else {}
        fields_ = schema.get("properties", {})
        data = {k: v for k, v in current.items() if k in fields_}
        data.update(task.draft or {})
        return TaskDetail(
            task_view(task, instance.version_id), schema, version.forms.get(task.ui_form or ""), data, instance.data
        )


@dataclass(frozen=True)
class TaskAccess:
    """What deciding who may touch a task needs, for open and closed tasks alike."""

    lane: str | None
    assignee: str | None
    version_id: int
    instance_data: dict[str, Any]


def task_access(db: Database, task_id: str) -> TaskAccess:
    with db.transaction(write=False) as session:
        return _task_access(session, task_id)


def _task_access(session: Session, task_id: str) -> TaskAccess:
    row = (
        session.connection()
        .execute(
            select(TASKS.c.lane, TASKS.c.assignee, INSTANCES.c.version_id, INSTANCES.c.data)
            .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
            .where(TASKS.c.id == task_id)
        )
        .first()
    )
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return TaskAccess(row.lane, row.assignee, row.version_id, row.data or {})


_permissions: dict[tuple[str, int], access.Permissions] = {}


def permissions(db: Database, version_id: int) -> access.Permissions:
    """A version's permissions; versions never change, so lists checking every row ask once."""
    key = (db.url, version_id)
    if key not in _permissions:
        with db.transaction(write=False) as session:
            _permissions[key] = deployed_version(session, version_id).permissions
    return _permissions[key]


def latest_permissions(db: Database, process_id: str) -> access.Permissions:
    with db.transaction(write=False) as session:
        return deployed_version(session, _latest_version_with(session, process_id)).permissions


def claim_task(db: Database, task_id: str, *, actor: str, now: datetime, release: bool = False) -> TaskView:
    """Take a task so colleagues see it is in hand (or give it back); someone else's claim is a conflict."""
    with db.transaction() as session:
        task = open_task(session, task_id)
        active_instance(session, task.instance_id)
        if task.claimed_by not in (None, actor):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        claimed_by = None if release else actor
        if claimed_by == task.claimed_by:
            return task_view(task)  # already so: nothing to record
        session.connection().execute(update(TASKS).where(TASKS.c.id == task_id).values(claimed_by=claimed_by))
        record_event(
            session,
            task.instance_id,
            "task_released" if release else "task_claimed",
            actor,
            now,
            {"bpmn_id": task.bpmn_id},
            task_id=task_id,
        )
        return replace(task_view(task), claimed_by=claimed_by)


def save_draft(db: Database, task_id: str, data: dict[str, Any], *, actor: str, now: datetime) -> TaskView:
    """Keep unfinished form data on the task; it is checked only for reserved keys until completion."""
    forms.check_reserved(data)
    with db.transaction() as session:
        task = open_task(session, task_id)
        active_instance(session, task.instance_id)
        if task.claimed_by not in (None, actor):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        session.connection().execute(update(TASKS).where(TASKS.c.id == task_id).values(draft=data))
        record_event(
            session,
            task.instance_id,
            "draft_saved",
            actor,
            now,
            {"bpmn_id": task.bpmn_id, "data": data},
            task_id=task_id,
        )
        return task_view(task)


def record_read(db: Database, instance_id: int, *, actor: str, now: datetime, what: str) -> None:
    """Reading a case is itself an event: auditors see who looked at what."""
    with db.transaction() as session:
        record_event(session, instance_id, "case_read", actor, now, {"what": what})


# Built once: the completion path runs these on every request.
_OPEN_SIBLINGS = select(TASKS).where(
    TASKS.c.instance_id == select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("task_id")).scalar_subquery(),
    TASKS.c.closed_at.is_(None),
)


def complete_task(
    db: Database,
    task_id: str,
    data: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
    check_access: Callable[[TaskAccess], None] | None = None,
) -> InstanceView:
    """Complete an open task with its form data. ``check_access`` (the web layer's permission
    check) sees the task and its case before anything else is said about either, in the same
    transaction, so a caller who may not act learns nothing from a 409 or a 422."""
    try:
        with db.transaction() as session:
            siblings = session.connection().execute(_OPEN_SIBLINGS, {"task_id": task_id}).all()
            task = next((t for t in siblings if t.id == task_id), None)
            if task is None and check_access is not None:
                check_access(_task_access(session, task_id))
            task = task or open_task(session, task_id)
            instance = load_instance(session, task.instance_id)
            if check_access is not None and siblings:
                check_access(TaskAccess(task.lane, task.assignee, instance.version_id, instance.data or {}))
            if task.claimed_by not in (None, actor):
                raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
            instance = active_instance(session, task.instance_id, instance)
            schema = deployed_version(session, instance.version_id).forms.get(task.form or "")
            if schema is None:
                raise InvalidData(f"form '{task.form}' is missing from version {instance.version_id}")
            forms.validate(
                schema,
                data,
                assignee=task.assignee,
                documents=documents.list_for(session, instance.id) if docfields.has_fields(schema) else (),
            )
            workflow = load_workflow(session, instance)
            before = instance.data
            with operators.step(session, instance.id, actor, now) as effects:
                try:
                    workflow.complete(task_id, data, now, step_seconds)
                except LookupError:
                    raise TaskNotReady(f"task {task_id} is no longer ready") from None
                tasks = save_step(session, instance, workflow, now, step_seconds, siblings)
            record_event(
                session,
                instance.id,
                "task_completed",
                actor,
                now,
                {
                    "bpmn_id": task.bpmn_id,
                    "name": task.name,
                    "lane": task.lane,
                    "data": data,
                    "changes": audit.changes(before, instance.data),
                },
                task_id=task_id,
            )
            effects.apply(instance.id)
            return instance_view(session, instance, tasks=tasks)
    except ScriptFailed as err:
        mark_error(db, instance_of_task(db, task_id), err, actor, now, "complete_task")
        raise


def send_message(
    db: Database,
    instance_id: int,
    name: str,
    payload: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> InstanceView:
    forms.check_reserved(payload)
    try:
        with db.transaction() as session:
            instance = active_instance(session, instance_id)
            workflow = load_workflow(session, instance)
            before = instance.data
            with operators.step(session, instance.id, actor, now) as effects:
                kind = workflow.send(name, payload, now, step_seconds)
                tasks = save_step(session, instance, workflow, now, step_seconds)
            record_event(
                session,
                instance.id,
                f"{kind}_received",
                actor,
                now,
                {"name": name, "payload": payload, "changes": audit.changes(before, instance.data)},
            )
            effects.apply(instance.id)
            return instance_view(session, instance, tasks=tasks)
    except ScriptFailed as err:
        mark_error(db, instance_id, err, actor, now, f"message {name}")
        raise


# ---------------------------------------------------------------------------------------------
# Administration


def set_status(db: Database, instance_id: int, action: str, *, reason: str, actor: str, now: datetime) -> InstanceView:
    """suspend, resume, terminate or retry (after an error), each with its reason recorded."""
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
                .values(closed_at=now)
            )
        record_event(
            session,
            instance_id,
            "status_changed",
            actor,
            now,
            {"action": action, "from": previous, "to": new_status, "reason": reason},
        )
        for key, value in values.items():
            setattr(instance, key, value)
        return instance_view(session, instance)
