"""How an instance is stored: its state row, its task index and its events, written together.

The use cases in services.py and timers.py share these steps; nothing here frames a transaction.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from cprflow import access, audit, engine
from cprflow.errors import Conflict, InstanceNotActive, NotFound, ScriptFailed, TaskNotReady
from cprflow.models import ACTIVE_STATUSES, Event, Instance, ProcessVersion, UserTask
from cprflow.repository import Database

INSTANCES = Instance.__table__
TASKS = UserTask.__table__
EVENTS = Event.__table__
_INSTANCE_BY_ID = select(INSTANCES).where(INSTANCES.c.id == bindparam("row_id"))
_UPDATE_INSTANCE = INSTANCES.update().where(
    INSTANCES.c.id == bindparam("row_id"), INSTANCES.c.lock_version == bindparam("expected")
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
class Version:
    specs: dict[str, str]  # process id -> that process's spec JSON
    forms: dict[str, Any]
    permissions: access.Permissions


_versions: dict[tuple[str, int], Version] = {}
_versions_lock = threading.Lock()


def deployed_version(session: Session, version_id: int) -> Version:
    key = (str(session.get_bind().url), version_id)
    cached = _versions.get(key)
    if cached is None:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        cached = Version(
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
# Shared steps (also used by timers.py)


def load_workflow(session: Session, instance: Any) -> engine.Workflow:
    """An instance's workflow, with the spec objects its version shares."""
    spec_json = deployed_version(session, instance.version_id).specs[instance.process_id]
    return engine.Workflow.load(unpack(instance.state), spec_json)


def pack(state: str) -> bytes:
    return zlib.compress(state.encode(), 1)


def unpack(blob: bytes) -> str:
    return zlib.decompress(blob).decode()


def status_of(snapshot: engine.Snapshot) -> str:
    if snapshot.completed:
        return "completed"
    return "running" if snapshot.ready_tasks else "waiting"


def save_step(
    session: Session,
    instance: Instance,
    workflow: engine.Workflow,
    now: datetime,
    step_seconds: float,
    open_tasks: Sequence[Any] | None = None,
) -> list[TaskView]:
    """Write state, indexes and status after a step; returns the open tasks as they now are."""
    if open_tasks is None:
        open_tasks = (
            session.connection()
            .execute(select(TASKS).where(TASKS.c.instance_id == instance.id, TASKS.c.closed_at.is_(None)))
            .all()
        )
    known = {t.id: t for t in open_tasks}
    snapshot = workflow.snapshot(now, step_seconds, known=set(known))
    values = {
        "status": status_of(snapshot),
        "state": pack(snapshot.state),
        "serializer_version": engine.SERIALIZER_VERSION,
        "next_timer_at": snapshot.next_timer_at,
        "waiting_for": snapshot.waiting_for,
        "data": snapshot.data if snapshot.completed else {**instance.data, **snapshot.data},
        "updated_at": now,
    }
    update_row(session, instance, values)
    for key, value in values.items():
        setattr(instance, key, value)
    return sync_tasks(session, instance.id, instance.process_id, snapshot, now, known)


def update_row(session: Session, instance: Instance, values: dict[str, Any]) -> None:
    """Write only if nobody else has since: the version counter makes one of two racers lose."""
    result = session.connection().execute(
        _UPDATE_INSTANCE,
        {"row_id": instance.id, "expected": instance.lock_version, "lock_version": instance.lock_version + 1, **values},
    )
    if result.rowcount != 1:
        raise Conflict(f"instance {instance.id} was changed by someone else; reload and try again")
    instance.lock_version += 1


def sync_tasks(
    session: Session,
    instance_id: int,
    process_id: str,
    snapshot: engine.Snapshot,
    now: datetime,
    known: dict[str, Any],
) -> list[TaskView]:
    current = {t.id: t for t in snapshot.ready_tasks}
    gone = set(known) - set(current)
    if gone:
        session.connection().execute(update(TASKS).where(TASKS.c.id.in_(gone)).values(closed_at=now))
    new = [
        {
            "id": t.id,
            "instance_id": instance_id,
            "process_id": process_id,
            "bpmn_id": t.bpmn_id,
            "name": t.name,
            "lane": t.lane,
            "form": t.form,
            "ui_form": t.ui_form,
            "instructions": t.instructions,
            "due_at": t.due_at,
            "assignee": t.assignee,
            "ready_at": now,
        }
        for t in snapshot.ready_tasks
        if t.id not in known
    ]
    if new:
        session.connection().execute(insert(TASKS), new)
        from cprflow.notify import tasks_opened  # the tasks' notifyOnReady emails, in this transaction

        tasks_opened(session, instance_id, new, now)
    kept = [task_view(known[i]) for i in current if i in known]
    return kept + [TaskView(**{k: v for k, v in row.items() if k in _TASK_FIELDS}) for row in new]  # type: ignore[arg-type]


def record_event(
    session: Session,
    instance_id: int | None,
    kind: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
    task_id: str | None = None,
) -> None:
    audit.append(session, instance_id, kind, actor, now, detail, task_id)


def mark_error(
    db: Database, instance_id: int | None, err: ScriptFailed, actor: str, now: datetime, during: str
) -> None:
    """Leave the instance at its last committed state, flagged for an admin to see and retry."""
    if instance_id is None:
        return
    with db.transaction() as session:
        instance = load_instance(session, instance_id)
        if instance.status not in ACTIVE_STATUSES:
            return
        update_row(session, instance, {"status": "error", "error": err.message, "updated_at": now})
        record_event(
            session,
            instance_id,
            "error",
            actor,
            now,
            {"during": during, "message": err.message, "from": instance.status},
        )


def load_instance(session: Session, instance_id: int) -> Instance:
    """A detached copy of the row: writes go through ``update_row``, never the ORM's flush."""
    row = session.connection().execute(_INSTANCE_BY_ID, {"row_id": instance_id}).first()
    if row is None:
        raise NotFound(f"instance {instance_id} not found")
    return Instance(**row._mapping)


def active_instance(session: Session, instance_id: int, instance: Instance | None = None) -> Instance:
    """The instance (loaded now unless already at hand), if it is running or waiting."""
    instance = instance if instance is not None else load_instance(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance {instance_id} is {instance.status}")
    return instance


def open_task(session: Session, task_id: str) -> Any:
    task = session.connection().execute(select(TASKS).where(TASKS.c.id == task_id)).first()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.closed_at is not None:
        raise TaskNotReady(f"task {task_id} is no longer ready")
    return task


def instance_of_task(db: Database, task_id: str) -> int | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(UserTask.instance_id).where(UserTask.id == task_id, UserTask.closed_at.is_(None)))


def task_view(task: Any, version_id: int | None = None) -> TaskView:
    return TaskView(
        task.id,
        task.instance_id,
        task.process_id,
        task.bpmn_id,
        task.name,
        task.lane,
        task.form,
        task.ui_form,
        task.instructions,
        task.due_at,
        task.assignee,
        task.ready_at,
        getattr(task, "claimed_by", None),
        version_id if version_id is not None else getattr(task, "version_id", None),
    )


def instance_view(
    session: Session, instance: Instance, *, with_tasks: bool = True, tasks: list[TaskView] | None = None
) -> InstanceView:
    if tasks is None and with_tasks:
        tasks = [
            task_view(t)
            for t in session.scalars(
                select(UserTask)
                .where(UserTask.instance_id == instance.id, UserTask.closed_at.is_(None))
                .order_by(UserTask.ready_at)
            )
        ]
    return InstanceView(
        instance.id,
        instance.process_id,
        instance.version_id,
        instance.status,
        instance.data,
        instance.next_timer_at,
        list(instance.waiting_for or []),
        instance.error,
        instance.created_at,
        instance.updated_at,
        tasks or [],
    )
