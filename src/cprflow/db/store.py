"""How an instance is stored: its state row, its task index and its events, written together.

The use cases in ``services/`` share these steps; nothing here frames a transaction. What follows a
step (the emails of tasks that open) is done by listeners the features register at start
(``cprflow.bootstrap``), called in the step's transaction.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Text, and_, bindparam, exists, false, func, insert, literal, null, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cprflow import engine
from cprflow.config import Settings
from cprflow.core import access, operators
from cprflow.core.errors import Conflict, InstanceNotActive, NotFound, ScriptFailed, TaskNotReady
from cprflow.core.views import TASK_FIELDS, InstanceView, TaskView
from cprflow.db import audit
from cprflow.db.database import Database, after_commit
from cprflow.db.models import ACTIVE_STATUSES, Event, Instance, ProcessVersion, UserTask
from cprflow.diagrams import diagram_set, welsh

INSTANCES = cast(Table, Instance.__table__)
TASKS = cast(Table, UserTask.__table__)
EVENTS = cast(Table, Event.__table__)
_INSTANCE_BY_ID = select(INSTANCES).where(INSTANCES.c.id == bindparam("row_id"))
#: Called in the step's transaction with (session, the instance as this step saved it, the new task
#: rows, now) when tasks open: its id, version and data are at hand, so a listener need not read them again.
TasksOpened = Callable[[Session, Instance, Sequence[dict[str, Any]], datetime], None]
_TASKS_OPENED: list[TasksOpened] = []


def on_tasks_opened(listener: TasksOpened) -> None:
    """Register a listener for tasks entering the index (idempotent: a listener is called once a step)."""
    if listener not in _TASKS_OPENED:
        _TASKS_OPENED.append(listener)


#: Called in the assigning transaction with (session, the instance, the task's index row, the username
#: it was given to, who gave it, now) when someone gives a task to somebody else.
TaskAssigned = Callable[[Session, Instance, Any, str, str, datetime], None]
_TASK_ASSIGNED: list[TaskAssigned] = []


def on_task_assigned(listener: TaskAssigned) -> None:
    """Register a listener for tasks given to someone (idempotent)."""
    if listener not in _TASK_ASSIGNED:
        _TASK_ASSIGNED.append(listener)


def announce_assignment(session: Session, instance: Instance, task: Any, to: str, by: str, now: datetime) -> None:
    for listener in _TASK_ASSIGNED:
        listener(session, instance, task, to, by, now)


_INSERT_INSTANCE = insert(INSTANCES)
_UPDATE_INSTANCE = INSTANCES.update().where(
    INSTANCES.c.id == bindparam("row_id"), INSTANCES.c.lock_version == bindparam("expected")
)


# ---------------------------------------------------------------------------------------------
# Deployed versions are immutable, so their parsed specs and forms are cached by content hash.


@dataclass(frozen=True)
class Version:
    specs: dict[str, str]  # process id -> that process's spec JSON
    forms: dict[str, Any]
    permissions: access.Permissions
    #: message name -> the schema its payload must fit (a file in ``forms``), as the diagrams name them
    message_schemas: dict[str, str] = field(default_factory=dict)
    #: process id -> the form its start event names (``diagram_set.start_forms``)
    start_forms: dict[str, diagram_set.StartForm] = field(default_factory=dict)
    welsh: welsh.WelshNames = field(default_factory=welsh.WelshNames)
    #: process id -> {timescale key: ISO duration}, from processes/timescales.json (edited as fields)
    timescales: dict[str, dict[str, str]] = field(default_factory=dict)

    def start_data(self, process_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """A new case's data: what its starter gave, and the process's timescales as this version
        sets them (``process_timescales``: the diagrams read their periods from it)."""
        if process_id not in self.timescales:
            return data
        return {**data, TIMESCALES_KEY: dict(self.timescales[process_id])}


#: Where a case's data holds its process's timescales (key -> ISO duration) from the version it started on.
TIMESCALES_KEY = "process_timescales"


def _timescales(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """{process: {key: duration}} from a version's timescales file (checked at deploy), else {}."""
    text = files.get(diagram_set.TIMESCALES_FILE)
    document = json.loads(text) if text else {}
    return {
        process: {key: entry["duration"] for key, entry in entries.items() if isinstance(entry, dict)}
        for process, entries in document.items()
        if isinstance(entries, dict) and not process.startswith("$")
    }


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
            message_schemas=diagram_set.read_message_schemas(row.files),
            start_forms=diagram_set.read_start_forms(row.files),
            welsh=welsh.read(row.files),
            timescales=_timescales(row.files),
        )
        with _versions_lock:
            _versions[key] = cached
    return cached


# ---------------------------------------------------------------------------------------------
# Shared steps (also used by timers.py)


def load_workflow(session: Session, instance: Any) -> engine.Workflow:
    """An instance's workflow, with the spec objects its version shares: the one this worker last
    saved, while it is still what the row holds, else restored from the saved state."""
    spec_json = deployed_version(session, instance.version_id).specs[instance.process_id]
    live = LIVE.take(session, instance, spec_json)
    return live if live is not None else engine.Workflow.load(unpack(instance.state), spec_json)


class LiveWorkflows:
    """Workflows this worker saved, kept live so that the next step on the same review need not
    restore them from their saved state (restoring costs as much as the step and the save together).

    An entry is used only while the row's state is, byte for byte, the state it was saved as, on the
    same spec: a step by another worker, a data fix or a migration changes the state, so none is
    missed. Taking an entry removes it, so no two steps ever share an object, and a step that fails
    halfway never leaves its half-changed object behind: it is kept again only once the step's
    transaction has committed. The least recently saved go first past ``capacity``
    (CPRFLOW_LIVE_WORKFLOWS; 0 keeps none)."""

    def __init__(self, capacity: int | None = None) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, int], tuple[bytes, str, engine.Workflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def capacity(self) -> int:
        if self._capacity is None:
            self._capacity = max(0, Settings.from_env().live_workflows)
        return self._capacity

    def take(self, session: Session, instance: Any, spec_json: str) -> engine.Workflow | None:
        key = (str(session.get_bind().url), instance.id)
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None and entry[0] == instance.state and entry[1] == spec_json:
            self.hits += 1
            return entry[2].continued()
        self.misses += 1
        return None

    def keep(self, session: Session, instance: Any, workflow: engine.Workflow) -> None:
        """Keep ``workflow``, just saved as ``instance.state``, once this transaction commits."""
        if not self.capacity:
            return
        key = (str(session.get_bind().url), instance.id)
        entry = (instance.state, deployed_version(session, instance.version_id).specs[instance.process_id], workflow)

        def kept() -> None:
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)

        after_commit(session, kept)


LIVE = LiveWorkflows()


def keep_live(session: Session, instance: Any, workflow: engine.Workflow) -> None:
    """After a step that saved ``workflow`` as ``instance.state``: keep it live for the next step on
    this review, once the transaction commits (the steps people take one after another: a start, a completion)."""
    LIVE.keep(session, instance, workflow)


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
    *,
    announce: bool = True,
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
        "data": {**instance.data, **snapshot.data},
        "updated_at": now,
    }
    update_row(session, instance, values)
    for key, value in values.items():
        setattr(instance, key, value)
    return sync_tasks(session, instance, snapshot, now, known, announce=announce)


def update_row(session: Session, instance: Instance, values: dict[str, Any]) -> None:
    """Write only if nobody else has since: the version counter makes one of two racers lose."""
    result = session.connection().execute(
        _UPDATE_INSTANCE,
        {"row_id": instance.id, "expected": instance.lock_version, "lock_version": instance.lock_version + 1, **values},
    )
    if result.rowcount != 1:
        raise Conflict(f"instance {instance.id} was changed by someone else; reload and try again")
    instance.lock_version += 1


# Built once: every step closes and opens tasks (building a statement costs more than running it).
_CLOSE_TASKS = (
    update(TASKS)
    .where(TASKS.c.id.in_(bindparam("gone", expanding=True)))
    .values(closed_at=bindparam("closed"), data=null())
)
_INSERT_TASKS = insert(TASKS)


def sync_tasks(
    session: Session,
    instance: Instance,
    snapshot: engine.Snapshot,
    now: datetime,
    known: dict[str, Any],
    *,
    announce: bool = True,
) -> list[TaskView]:
    """Close the index rows of tasks that left, add those that came; tell the listeners of the new ones
    unless ``announce`` is off (moving an instance to another version opens nothing new for people)."""
    current = {t.id: t for t in snapshot.ready_tasks}
    gone = set(known) - set(current)
    if gone:
        session.connection().execute(_CLOSE_TASKS, {"gone": sorted(gone), "closed": now})
    new = [
        {
            "id": t.id,
            "instance_id": instance.id,
            "process_id": instance.process_id,
            "bpmn_id": t.bpmn_id,
            "name": t.name,
            "lane": t.lane,
            "form": t.form,
            "ui_form": t.ui_form,
            "instructions": t.instructions,
            "due_at": t.due_at,
            "assignee": t.assignee,
            "ready_at": now,
            "data": form_data(t.data),
        }
        for t in snapshot.ready_tasks
        if t.id not in known
    ]
    if new:
        session.connection().execute(_INSERT_TASKS, new)
        if announce:
            for listener in _TASKS_OPENED:
                listener(session, instance, new, now)
    kept = [task_view(known[i], instance.version_id) for i in current if i in known]
    fields = TASK_FIELDS - {"version_id"}
    return kept + [
        TaskView(**{k: v for k, v in row.items() if k in fields}, version_id=instance.version_id)  # type: ignore[arg-type]
        for row in new
    ]


def form_data(data: dict[str, Any]) -> dict[str, Any]:
    """A task's data as its index row keeps it: plain JSON, as the column hands it back."""
    return cast(dict[str, Any], json.loads(json.dumps(data, default=str)))


_SET_TASK_DATA = update(TASKS).where(TASKS.c.id == bindparam("task_id")).values(data=bindparam("task_data"))


def refresh_task_data(session: Session, snapshot: engine.Snapshot) -> None:
    """Rewrite the stored data of the open tasks (after a data fix changed it in the workflow)."""
    rows = [{"task_id": t.id, "task_data": form_data(t.data)} for t in snapshot.ready_tasks]
    if rows:
        session.connection().execute(_SET_TASK_DATA, rows)


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


def start_instance(
    session: Session,
    process_id: str,
    version_id: int,
    data: dict[str, Any],
    who: str,
    now: datetime,
    step_seconds: float,
) -> tuple[Instance, list[TaskView]]:
    """Start ``process_id`` on ``version_id`` and save it: the state row, its task index and its
    ``started`` event, with the operators its first step called. Who may start is the caller's check."""
    version = deployed_version(session, version_id)
    with operators.step(session, None, who, now) as effects:
        workflow = engine.Workflow.start(
            version.specs[process_id], version.start_data(process_id, data), now, step_seconds
        )
        snapshot = workflow.snapshot(now, step_seconds)
    values = {
        "process_id": process_id,
        "version_id": version_id,
        "status": status_of(snapshot),
        "state": pack(snapshot.state),
        "serializer_version": engine.SERIALIZER_VERSION,
        "next_timer_at": snapshot.next_timer_at,
        "lock_version": 1,
        "waiting_for": snapshot.waiting_for,
        "data": snapshot.data,
        "error": None,
        "created_at": now,
        "created_by": who,
        "updated_at": now,
    }
    # A plain insert and a detached copy, as load_instance gives: the ORM's unit of work costs more
    # than the rest of writing the row.
    new_id = session.connection().execute(_INSERT_INSTANCE, values).inserted_primary_key[0]
    instance = Instance(id=new_id, **values)
    tasks = sync_tasks(session, instance, snapshot, now, {})
    keep_live(session, instance, workflow)
    record_event(
        session, instance.id, "started", who, now, {"process_id": process_id, "version_id": version_id, "data": data}
    )
    effects.apply(instance.id)
    return instance, tasks


def record_read(session: Session, instance_id: int, actor: str, now: datetime, what: str) -> None:
    """Reading a case is itself an event, chained in the reader's own chain (``audit.reader_chain``)."""
    audit.append(session, instance_id, "case_read", actor, now, {"what": what}, chain=audit.reader_chain(actor))


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
        str(reference) if (reference := getattr(task, "reference", None)) is not None else None,
    )


def instance_view(
    session: Session, instance: Instance, *, with_tasks: bool = True, tasks: list[TaskView] | None = None
) -> InstanceView:
    if tasks is None and with_tasks:
        tasks = [
            task_view(t, instance.version_id)
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
        instance.created_by,
    )


#: Deployed versions, the current one first: the highest rank, which each deploy and each explicit
#: "make version N current" takes (migration 0015 ranked the versions before it by id).
CURRENT_FIRST = (ProcessVersion.current_rank.desc(), ProcessVersion.id.desc())


def current_version_id(session: Session) -> int | None:
    """The version new work follows: the one deployed last, unless another was made current since."""
    return session.scalar(select(ProcessVersion.id).order_by(*CURRENT_FIRST).limit(1))


_VERSIONS = cast(Table, ProcessVersion.__table__)
_VERSION_IDS_CURRENT_FIRST = select(_VERSIONS.c.id).order_by(_VERSIONS.c.current_rank.desc(), _VERSIONS.c.id.desc())
_PROCESSES_OF = select(_VERSIONS.c.processes).where(_VERSIONS.c.id == bindparam("version_id"))
#: (database, version id) -> the ids of the processes a version deploys (versions never change).
_version_processes: dict[tuple[str, int], frozenset[str]] = {}


def latest_version_with(session: Session, process_id: str) -> int:
    """The current version if it has this process, else the most nearly current one that does:
    where new instances of it start. Which is current is read each time (a deploy or "make current"
    in another process changes it); what each version holds is read once."""
    connection = session.connection()
    url = str(session.get_bind().url)
    for version_id in connection.execute(_VERSION_IDS_CURRENT_FIRST).scalars().all():
        held = _version_processes.get((url, version_id))
        if held is None:
            listed = connection.execute(_PROCESSES_OF, {"version_id": version_id}).scalar_one()
            held = frozenset(p["id"] for p in listed)
            with _versions_lock:
                _version_processes[(url, version_id)] = held
        if process_id in held:
            return int(version_id)
    raise NotFound(f"no deployed process '{process_id}'")


# ---------------------------------------------------------------------------------------------
# The access policy as SQL: lists filter in the database by the same rules the use cases apply one
# row at a time (core.access), so pages and totals stay right however many cases there are.


def version_permissions(session: Session) -> dict[int, access.Permissions]:
    """Every deployed version's permissions (each read once per process: versions never change)."""
    ids = session.scalars(select(ProcessVersion.id)).all()
    return {version_id: deployed_version(session, version_id).permissions for version_id in ids}


def readable_condition(session: Session, actor: access.Actor, *, holders: bool = True) -> ColumnElement[bool]:
    """Holds for the instances ``actor`` may read (``access.read_rule`` under each version); without
    ``holders``, only those they read as a whole (not as the holder of one of their tasks)."""
    groups: dict[access.ReadRule, list[int]] = {}
    for version_id, perms in version_permissions(session).items():
        groups.setdefault(access.read_rule(actor, perms), []).append(version_id)
    clauses = []
    for rule, version_ids in groups.items():
        in_versions = INSTANCES.c.version_id.in_(version_ids)
        if rule.everything:
            clauses.append(in_versions)
            continue
        parts = [_names(session, key, actor.username) for key in rule.appointed_keys]
        holds = _workable_tasks(rule.holds) if holders else None
        if holds is not None:
            parts.append(exists().where(TASKS.c.instance_id == INSTANCES.c.id, holds))
        if parts:
            clauses.append(and_(in_versions, or_(*parts)))
    return or_(*clauses) if clauses else false()


def workable_condition(session: Session, actor: access.Actor) -> ColumnElement[bool]:
    """Holds for the task rows (joined with their instance) that ``actor`` may work."""
    groups: dict[access.WorkRule, list[int]] = {}
    for version_id, perms in version_permissions(session).items():
        groups.setdefault(access.work_rule(actor, perms), []).append(version_id)
    clauses = []
    for rule, version_ids in groups.items():
        workable = _workable_tasks(rule)
        if workable is not None:
            clauses.append(and_(INSTANCES.c.version_id.in_(version_ids), workable))
    return or_(*clauses) if clauses else false()


def _workable_tasks(rule: access.WorkRule) -> ColumnElement[bool] | None:
    parts: list[ColumnElement[bool]] = []
    if rule.any:
        parts.append(TASKS.c.lane.in_(sorted(rule.any)))
    if rule.by_username:
        parts.append(and_(TASKS.c.lane.in_(sorted(rule.by_username)), TASKS.c.assignee == rule.username))
    if rule.by_agency and rule.agency:
        parts.append(and_(TASKS.c.lane.in_(sorted(rule.by_agency)), TASKS.c.assignee == rule.agency))
    return or_(*parts) if parts else None


def _names(session: Session, key: str, username: str) -> ColumnElement[bool]:
    """The case data's ``key`` (a name or a list of names) holds ``username``."""
    if session.get_bind().dialect.name == "postgresql":
        value = sql_cast(INSTANCES.c.data, JSONB)[key]
        return value.op("@>")(func.to_jsonb(sql_cast(literal(username), Text)))
    names = func.json_each(INSTANCES.c.data, literal("$." + json.dumps(key))).table_valued("value")
    return exists().select_from(names).where(names.c.value == username)
