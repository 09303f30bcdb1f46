"""Use cases: deploy, start, list and complete tasks, send messages, suspend and resume.

Each function frames exactly one transaction (or one per instance for timers, see timers.py):
state, task index and event are written together or not at all. Time is always an argument.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from cprflow import access, engine, forms, processes
from cprflow.errors import Conflict, InstanceNotActive, InvalidData, NotFound, ScriptFailed, TaskNotReady
from cprflow.models import ACTIVE_STATUSES, Event, Instance, UserTask, ProcessVersion
from cprflow.repository import Database

DEFAULT_STEP_SECONDS = 5.0
_INSTANCES = Instance.__table__
_TASKS = UserTask.__table__
_EVENTS = Event.__table__
_UPDATE_INSTANCE = (
    _INSTANCES.update()
    .where(_INSTANCES.c.id == bindparam("row_id"), _INSTANCES.c.lock_version == bindparam("expected"))
)


# ---------------------------------------------------------------------------------------------
# What callers get back


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: int
    process_id: str
    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    due_at: datetime | None
    assignee: str | None
    ready_at: datetime
    claimed_by: str | None = None
    version_id: int | None = None


_TASK_FIELDS = frozenset(f.name for f in fields(TaskView))


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_id: str
    version_id: int
    status: str
    data: dict[str, Any]
    next_timer_at: datetime | None
    waiting_for: list[str]
    error: str | None
    created_at: datetime
    updated_at: datetime
    open_tasks: list[TaskView] = field(default_factory=list)


@dataclass(frozen=True)
class DeployResult:
    version_id: int
    created: bool
    content_hash: str
    processes: list[dict[str, Any]]


@dataclass(frozen=True)
class EventView:
    id: int
    instance_id: int | None
    at: datetime
    kind: str
    actor: str
    task_id: str | None
    detail: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Deployed versions are immutable, so their parsed specs and forms are cached by content hash.


@dataclass(frozen=True)
class _Version:
    specs: dict[str, str]  # process id -> that process's spec JSON
    forms: dict[str, Any]
    permissions: access.Permissions


_versions: dict[tuple[str, int], _Version] = {}
_versions_lock = threading.Lock()


def _version(session: Session, version_id: int) -> _Version:
    key = (str(session.get_bind().url), version_id)
    cached = _versions.get(key)
    if cached is None:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        cached = _Version(
            specs={pid: json.dumps(spec) for pid, spec in json.loads(zlib.decompress(row.specs)).items()},
            forms={
                n.removeprefix("forms/"): json.loads(text) for n, text in row.files.items() if n.startswith("forms/")
            },
            permissions=access.Permissions.from_document(
                json.loads(row.files[access.PERMISSIONS_FILE]) if access.PERMISSIONS_FILE in row.files else None
            ),
        )
        with _versions_lock:
            _versions[key] = cached
    return cached


# ---------------------------------------------------------------------------------------------
# Deploy


def deploy(db: Database, diagrams: processes.DiagramSet, *, actor: str, now: datetime) -> DeployResult:
    """Store the set as a new version; the same content again is a no-op returning the old one."""
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
        )
        session.add(version)
        session.flush()
        _record(session, None, "deployed", actor, now, {"version_id": version.id, "content_hash": content_hash, "processes": [p["id"] for p in listed]})
        return DeployResult(version.id, True, content_hash, listed)


def list_versions(db: Database) -> list[dict[str, Any]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(ProcessVersion.id, ProcessVersion.content_hash, ProcessVersion.deployed_at, ProcessVersion.deployed_by, ProcessVersion.processes)
            .order_by(ProcessVersion.id.desc())
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
    db: Database, process_id: str, data: dict[str, Any], *, actor: str, now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> InstanceView:
    forms.check_reserved(data)
    with db.transaction() as session:
        version_id = _latest_version_with(session, process_id)
        workflow = engine.Workflow.start(_version(session, version_id).specs[process_id], data, now, step_seconds)
        snapshot = workflow.snapshot(now, step_seconds)
        instance = Instance(
            process_id=process_id, version_id=version_id, status=_status(snapshot), state=_pack(snapshot.state),
            serializer_version=engine.SERIALIZER_VERSION, next_timer_at=snapshot.next_timer_at, lock_version=1,
            waiting_for=snapshot.waiting_for, data=snapshot.data, created_at=now, created_by=actor, updated_at=now,
        )
        session.add(instance)
        session.flush()
        tasks = _sync_tasks(session, instance.id, process_id, snapshot, now, {})
        _record(session, instance.id, "started", actor, now, {"process_id": process_id, "version_id": version_id, "data": data})
        return _view(session, instance, tasks=tasks)


def get_instance(db: Database, instance_id: int) -> InstanceView:
    with db.transaction(write=False) as session:
        return _view(session, _instance(session, instance_id))


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
        return [_view(session, row, with_tasks=False) for row in rows], total


def list_events(db: Database, instance_id: int, *, limit: int = 200, offset: int = 0) -> list[EventView]:
    with db.transaction(write=False) as session:
        _instance(session, instance_id)
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
            select(_TASKS, _INSTANCES.c.version_id)
            .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
            .where(_TASKS.c.closed_at.is_(None), _INSTANCES.c.status.in_(ACTIVE_STATUSES))
            .order_by(_TASKS.c.due_at.is_(None), _TASKS.c.due_at, _TASKS.c.ready_at)
        )
        if lane:
            query = query.where(_TASKS.c.lane == lane)
        if instance_id is not None:
            query = query.where(_TASKS.c.instance_id == instance_id)
        if assignee:
            query = query.where(_TASKS.c.assignee == assignee)
        return [_task_view(t) for t in session.connection().execute(query)]


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    schema: dict[str, Any]
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]  # the form's fields as the case holds them, overlaid by any saved draft
    instance_data: dict[str, Any]


def get_task(db: Database, task_id: str) -> TaskDetail:
    """An open task with its form, UI schema and current values, from the instance's own version."""
    with db.transaction(write=False) as session:
        task = _open_task(session, task_id)
        instance = _instance(session, task.instance_id)
        version = _version(session, instance.version_id)
        schema = version.forms.get(task.form or "") or {"type": "object"}
        ready = engine.Workflow.load(_unpack(instance.state)).ready_task(task_id)
        current = ready.data if ready is not None else {}
        fields_ = schema.get("properties", {})
        data = {k: v for k, v in current.items() if k in fields_}
        data.update(task.draft or {})
        return TaskDetail(_task_view(task, instance.version_id), schema, version.forms.get(task.ui_form or ""), data,
                          instance.data)


@dataclass(frozen=True)
class TaskAccess:
    """What deciding who may touch a task needs, for open and closed tasks alike."""

    lane: str | None
    assignee: str | None
    version_id: int
    instance_data: dict[str, Any]


def task_access(db: Database, task_id: str) -> TaskAccess:
    with db.transaction(write=False) as session:
        row = session.connection().execute(
            select(_TASKS.c.lane, _TASKS.c.assignee, _INSTANCES.c.version_id, _INSTANCES.c.data)
            .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
            .where(_TASKS.c.id == task_id)
        ).first()
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return TaskAccess(row.lane, row.assignee, row.version_id, row.data or {})


def permissions(db: Database, version_id: int) -> access.Permissions:
    with db.transaction(write=False) as session:
        return _version(session, version_id).permissions


def latest_permissions(db: Database, process_id: str) -> access.Permissions:
    with db.transaction(write=False) as session:
        return _version(session, _latest_version_with(session, process_id)).permissions


def claim_task(db: Database, task_id: str, *, actor: str, now: datetime, release: bool = False) -> TaskView:
    """Take a task so colleagues see it is in hand (or give it back); someone else's claim is a conflict."""
    with db.transaction() as session:
        task = _open_task(session, task_id)
        _active_instance(session, task.instance_id)
        if task.claimed_by not in (None, actor):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        claimed_by = None if release else actor
        if claimed_by == task.claimed_by:
            return _task_view(task)  # already so: nothing to record
        session.connection().execute(update(_TASKS).where(_TASKS.c.id == task_id).values(claimed_by=claimed_by))
        _record(session, task.instance_id, "task_released" if release else "task_claimed", actor, now, {"bpmn_id": task.bpmn_id}, task_id=task_id)
        return replace(_task_view(task), claimed_by=claimed_by)


def save_draft(db: Database, task_id: str, data: dict[str, Any], *, actor: str, now: datetime) -> TaskView:
    """Keep unfinished form data on the task; it is checked only for reserved keys until completion."""
    forms.check_reserved(data)
    with db.transaction() as session:
        task = _open_task(session, task_id)
        _active_instance(session, task.instance_id)
        if task.claimed_by not in (None, actor):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        session.connection().execute(update(_TASKS).where(_TASKS.c.id == task_id).values(draft=data))
        _record(session, task.instance_id, "draft_saved", actor, now, {"bpmn_id": task.bpmn_id, "data": data}, task_id=task_id)
        return _task_view(task)


def record_read(db: Database, instance_id: int, *, actor: str, now: datetime, what: str) -> None:
    """Reading a case is itself an event: auditors see who looked at what."""
    with db.transaction() as session:
        _record(session, instance_id, "case_read", actor, now, {"what": what})


def complete_task(
    db: Database, task_id: str, data: dict[str, Any], *, actor: str, now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> InstanceView:
    try:
        with db.transaction() as session:
            siblings = session.connection().execute(
                select(_TASKS).where(
                    _TASKS.c.instance_id == select(_TASKS.c.instance_id).where(_TASKS.c.id == task_id).scalar_subquery(),
                    _TASKS.c.closed_at.is_(None),
                )
            ).all()
            task = next((t for t in siblings if t.id == task_id), None) or _open_task(session, task_id)
            if task.claimed_by not in (None, actor):
                raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
            instance = _active_instance(session, task.instance_id)
            schema = _version(session, instance.version_id).forms.get(task.form or "")
            if schema is None:
                raise InvalidData(f"form '{task.form}' is missing from version {instance.version_id}")
            forms.validate(schema, data)
            workflow = engine.Workflow.load(_unpack(instance.state))
            try:
                workflow.complete(task_id, data, now, step_seconds)
            except LookupError:
                raise TaskNotReady(f"task {task_id} is no longer ready") from None
            tasks = _save(session, instance, workflow, now, step_seconds, siblings)
            _record(session, instance.id, "task_completed", actor, now,
                    {"bpmn_id": task.bpmn_id, "name": task.name, "lane": task.lane, "data": data}, task_id=task_id)
            return _view(session, instance, tasks=tasks)
    except ScriptFailed as err:
        _mark_error(db, _instance_of_task(db, task_id), err, actor, now, "complete_task")
        raise


def send_message(
    db: Database, instance_id: int, name: str, payload: dict[str, Any], *, actor: str, now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
) -> InstanceView:
    forms.check_reserved(payload)
    try:
        with db.transaction() as session:
            instance = _active_instance(session, instance_id)
            workflow = engine.Workflow.load(_unpack(instance.state))
            kind = workflow.send(name, payload, now, step_seconds)
            tasks = _save(session, instance, workflow, now, step_seconds)
            _record(session, instance.id, f"{kind}_received", actor, now, {"name": name, "payload": payload})
            return _view(session, instance, tasks=tasks)
    except ScriptFailed as err:
        _mark_error(db, instance_id, err, actor, now, f"message {name}")
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
        raise InvalidData(f"unknown action '{action}'", fields={"/action": ["must be suspend, resume, terminate or retry"]})
    with db.transaction() as session:
        instance = _instance(session, instance_id)
        if instance.status not in allowed[action]:
            raise InstanceNotActive(f"cannot {action} an instance that is {instance.status}")
        if action == "suspend":
            new_status = "suspended"
        elif action == "terminate":
            new_status = "terminated"
        else:
            new_status = "running" if session.scalar(
                select(func.count()).where(UserTask.instance_id == instance_id, UserTask.closed_at.is_(None))
            ) else "waiting"
        previous = instance.status
        values = {"status": new_status, "error": None, "updated_at": now}
        _update_row(session, instance, values)
        if new_status == "terminated":
            session.execute(
                update(UserTask).where(UserTask.instance_id == instance_id, UserTask.closed_at.is_(None)).values(closed_at=now)
            )
        _record(session, instance_id, "status_changed", actor, now,
                {"action": action, "from": previous, "to": new_status, "reason": reason})
        for key, value in values.items():
            setattr(instance, key, value)
        return _view(session, instance)


# ---------------------------------------------------------------------------------------------
# Shared steps (also used by timers.py)


def _pack(state: str) -> bytes:
    return zlib.compress(state.encode(), 1)


def _unpack(blob: bytes) -> str:
    return zlib.decompress(blob).decode()


def _status(snapshot: engine.Snapshot) -> str:
    if snapshot.completed:
        return "completed"
    return "running" if snapshot.ready_tasks else "waiting"


def _save(
    session: Session, instance: Instance, workflow: engine.Workflow, now: datetime, step_seconds: float,
    open_tasks: Sequence[Any] | None = None,
) -> list[TaskView]:
    """Write state, indexes and status after a step; returns the open tasks as they now are."""
    if open_tasks is None:
        open_tasks = session.connection().execute(
            select(_TASKS).where(_TASKS.c.instance_id == instance.id, _TASKS.c.closed_at.is_(None))
        ).all()
    known = {t.id: t for t in open_tasks}
    snapshot = workflow.snapshot(now, step_seconds, known=set(known))
    values = {
        "status": _status(snapshot), "state": _pack(snapshot.state), "serializer_version": engine.SERIALIZER_VERSION,
        "next_timer_at": snapshot.next_timer_at, "waiting_for": snapshot.waiting_for,
        "data": snapshot.data if snapshot.completed else {**instance.data, **snapshot.data},
        "updated_at": now,
    }
    _update_row(session, instance, values)
    for key, value in values.items():
        setattr(instance, key, value)
    return _sync_tasks(session, instance.id, instance.process_id, snapshot, now, known)


def _update_row(session: Session, instance: Instance, values: dict[str, Any]) -> None:
    """Write only if nobody else has since: the version counter makes one of two racers lose."""
    result = session.connection().execute(
        _UPDATE_INSTANCE, {"row_id": instance.id, "expected": instance.lock_version, "lock_version": instance.lock_version + 1, **values}
    )
    if result.rowcount != 1:
        raise Conflict(f"instance {instance.id} was changed by someone else; reload and try again")
    instance.lock_version += 1


def _sync_tasks(
    session: Session, instance_id: int, process_id: str, snapshot: engine.Snapshot, now: datetime,
    known: dict[str, Any],
) -> list[TaskView]:
    current = {t.id: t for t in snapshot.ready_tasks}
    gone = set(known) - set(current)
    if gone:
        session.connection().execute(update(_TASKS).where(_TASKS.c.id.in_(gone)).values(closed_at=now))
    new = [
        {
            "id": t.id, "instance_id": instance_id, "process_id": process_id, "bpmn_id": t.bpmn_id, "name": t.name,
            "lane": t.lane, "form": t.form, "ui_form": t.ui_form, "instructions": t.instructions,
            "due_at": t.due_at, "assignee": t.assignee, "ready_at": now,
        }
        for t in snapshot.ready_tasks
        if t.id not in known
    ]
    if new:
        session.connection().execute(insert(_TASKS), new)
    kept = [_task_view(known[i]) for i in current if i in known]
    return kept + [TaskView(**{k: v for k, v in row.items() if k in _TASK_FIELDS}) for row in new]  # type: ignore[arg-type]


def _record(
    session: Session, instance_id: int | None, kind: str, actor: str, now: datetime, detail: dict[str, Any],
    task_id: str | None = None,
) -> None:
    session.connection().execute(
        insert(_EVENTS), {"instance_id": instance_id, "at": now, "kind": kind, "actor": actor, "task_id": task_id, "detail": detail}
    )


def _mark_error(db: Database, instance_id: int | None, err: ScriptFailed, actor: str, now: datetime, during: str) -> None:
    """Leave the instance at its last committed state, flagged for an admin to see and retry."""
    if instance_id is None:
        return
    with db.transaction() as session:
        instance = _instance(session, instance_id)
        if instance.status not in ACTIVE_STATUSES:
            return
        _update_row(session, instance, {"status": "error", "error": err.message, "updated_at": now})
        _record(session, instance_id, "error", actor, now, {"during": during, "message": err.message, "from": instance.status})


def _instance(session: Session, instance_id: int) -> Instance:
    """A detached copy of the row: writes go through ``_update_row``, never the ORM's flush."""
    row = session.connection().execute(select(_INSTANCES).where(_INSTANCES.c.id == instance_id)).first()
    if row is None:
        raise NotFound(f"instance {instance_id} not found")
    return Instance(**row._mapping)


def _active_instance(session: Session, instance_id: int) -> Instance:
    instance = _instance(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance {instance_id} is {instance.status}")
    return instance


def _open_task(session: Session, task_id: str) -> Any:
    task = session.connection().execute(select(_TASKS).where(_TASKS.c.id == task_id)).first()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.closed_at is not None:
        raise TaskNotReady(f"task {task_id} is no longer ready")
    return task


def _instance_of_task(db: Database, task_id: str) -> int | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(UserTask.instance_id).where(UserTask.id == task_id, UserTask.closed_at.is_(None)))


def _task_view(task: Any, version_id: int | None = None) -> TaskView:
    return TaskView(
        task.id, task.instance_id, task.process_id, task.bpmn_id, task.name, task.lane, task.form, task.ui_form,
        task.instructions, task.due_at, task.assignee, task.ready_at, getattr(task, "claimed_by", None),
        version_id if version_id is not None else getattr(task, "version_id", None),
    )


def _view(
    session: Session, instance: Instance, *, with_tasks: bool = True, tasks: list[TaskView] | None = None
) -> InstanceView:
    if tasks is None and with_tasks:
        tasks = [
            _task_view(t)
            for t in session.scalars(
                select(UserTask).where(UserTask.instance_id == instance.id, UserTask.closed_at.is_(None)).order_by(UserTask.ready_at)
            )
        ]
    return InstanceView(
        instance.id, instance.process_id, instance.version_id, instance.status, instance.data, instance.next_timer_at,
        list(instance.waiting_for or []), instance.error, instance.created_at, instance.updated_at, tasks or [],
    )
