"""Use cases of tasks: list them, open one with its form, claim it, save a draft, complete it.

Each function frames exactly one transaction; completing a task writes its state, task index and
event together or not at all. Time is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from cprflow import engine
from cprflow.core import access, document_fields, expressions, forms, operators
from cprflow.core.errors import Conflict, Forbidden, InvalidData, NotFound, ScriptFailed, TaskClosed, TaskNotReady
from cprflow.core.expressions import WALES
from cprflow.core.views import InstanceView, TaskView
from cprflow.db import audit, guards, register
from cprflow.db.database import Database
from cprflow.db.models import ACTIVE_STATUSES, User
from cprflow.db.store import (
    EVENTS,
    INSTANCES,
    TASKS,
    active_instance,
    announce_assignment,
    deployed_version,
    form_data,
    instance_of_task,
    instance_view,
    keep_live,
    load_instance,
    load_workflow,
    mark_error,
    record_event,
    record_read,
    save_step,
    task_view,
    workable_condition,
)
from cprflow.features import agencies, documents
from cprflow.services.users import names_of

USERS = cast(Table, User.__table__)


def list_tasks(
    db: Database,
    *,
    actor: access.Actor | None = None,
    lane: str | None = None,
    instance_id: int | None = None,
    assignee: str | None = None,
) -> list[TaskView]:
    """Ready tasks of active instances, soonest due first (suspended and failed ones wait); given a
    person, only the tasks they may work. Each carries its case's reference, read in the same query."""
    with db.transaction(write=False) as session:
        query = (
            select(TASKS, INSTANCES.c.version_id, register.reference().label("reference"))
            .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
            .where(TASKS.c.closed_at.is_(None), INSTANCES.c.status.in_(ACTIVE_STATUSES))
            .order_by(TASKS.c.due_at.is_(None), TASKS.c.due_at, TASKS.c.ready_at)
        )
        if actor is not None:
            query = query.where(workable_condition(session, actor))
        if lane:
            query = query.where(TASKS.c.lane == lane)
        if instance_id is not None:
            query = query.where(TASKS.c.instance_id == instance_id)
        if assignee:
            query = query.where(TASKS.c.assignee == assignee)
        return [task_view(t) for t in session.connection().execute(query)]


@dataclass(frozen=True)
class Person:
    username: str
    name: str


@dataclass(frozen=True)
class Holder:
    """Whom an open task is for, by name: the person who took it, or its assignee read as its lane's
    permissions say (``assigned_lanes``: a person's username, or an agency's id)."""

    name: str
    name_cy: str | None = None  # an agency's Welsh name; a person's name is the same in both languages
    username: str | None = None  # the person's, when a person holds it (never an agency's id)

    def in_language(self, lang: str) -> str:
        return self.name_cy if lang == "cy" and self.name_cy else self.name


def holders(db: Database, tasks: list[TaskView]) -> dict[str, Holder]:
    """Task id -> who holds it, for those tasks that someone took or that are assigned: people by
    their display name, agencies by the name the agencies list gives them. An assignee that names
    nobody known is shown as written."""
    wanted = [t for t in tasks if t.claimed_by or t.assignee]
    if not wanted:
        return {}
    with db.transaction(write=False) as session:
        rules = {
            v: deployed_version(session, v).permissions.assigned_lanes for v in {t.version_id for t in wanted} if v
        }
        listed = {a["id"]: a for a in agencies.known(session) or []}
        people = names_of(session, {t.claimed_by or t.assignee for t in wanted})
    found = {}
    for task in wanted:
        if task.claimed_by:
            found[task.id] = Holder(people.get(task.claimed_by, task.claimed_by), username=task.claimed_by)
            continue
        who = cast(str, task.assignee)
        if rules.get(task.version_id or 0, {}).get(task.lane or "") == "agency":
            agency = listed.get(who)
            found[task.id] = Holder(agency["name"], agency["name_cy"]) if agency else Holder(who)
        else:
            found[task.id] = Holder(people.get(who, who), username=who)
    return found


@dataclass(frozen=True)
class FactSection:
    """Earlier answers a task decides on, shown read-only: declared in its UI schema under ``ui:facts``
    as ``{"title", "x-title-cy", "form", "fields"}``; the fields are worded by the form that asked them."""

    title: str
    title_cy: str | None
    schema: dict[str, Any]  # the asking form, cut down to the fields shown
    values: dict[str, Any]


FACTS_KEY = "ui:facts"


def _facts(ui_schema: dict[str, Any] | None, forms_: dict[str, Any], case: dict[str, Any]) -> tuple[FactSection, ...]:
    sections = (ui_schema or {}).get(FACTS_KEY)
    found = []
    for section in sections if isinstance(sections, list) else []:
        if not isinstance(section, dict) or not isinstance(section.get("fields"), list):
            continue
        asking = forms_.get(str(section.get("form"))) or {}
        known = asking.get("properties") or {}
        props = {k: known.get(k, {}) for k in section["fields"] if isinstance(k, str)}
        values = {k: case[k] for k in props if case.get(k) not in (None, "", [], {})}
        if values:
            schema = {k: v for k, v in asking.items() if k in ("$defs", "definitions")}
            found.append(
                FactSection(
                    str(section.get("title") or ""),
                    section.get("x-title-cy"),
                    {**schema, "type": "object", "properties": props},
                    values,
                )
            )
    return tuple(found)


@dataclass(frozen=True)
class TaskDetail:
    """Everything the task page shows, read in one transaction."""

    task: TaskView
    schema: dict[str, Any]
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]  # the form's fields as the case holds them, overlaid by any saved draft
    instance_data: dict[str, Any]
    #: The task's own data as it opened (earlier answers a form may show read-only).
    task_data: dict[str, Any] = field(default_factory=dict)
    claimed_by: Person | None = None
    draft_saved_by: Person | None = None
    draft_saved_at: datetime | None = None
    may_assign: bool = False  # the caller may give the task to any of ``workers``
    workers: tuple[Person, ...] = ()  # who may work it, for "assign to"
    facts: tuple[FactSection, ...] = ()  # what came before, as the UI schema declares


def get_task(db: Database, task_id: str, *, actor: access.Actor | None = None, with_values: bool = True) -> TaskDetail:
    """An open task with its form, UI schema and current values, from the instance's own version.

    Everything comes from the task index (the values were stored when the task became ready), so
    the instance is never loaded; ``with_values=False`` is kept for callers that need only the form."""
    with db.transaction(write=False) as session:
        return _detail(session, _workable_task(session, actor, task_id), with_values, actor)


def read_task(db: Database, task_id: str, *, actor: access.Actor, now: datetime, form_only: bool = False) -> TaskDetail:
    """What a person opening a task sees, with the record of their reading it: one transaction,
    writing only the read record (chained per reader). ``form_only`` (the API, which answers with the
    task, its form and its values) leaves out what only the page shows: who holds it and saved its
    draft, whom it could be given to, and the earlier answers it decides on."""
    with db.transaction() as session:
        task = _workable_task(session, actor, task_id)
        detail = _form_of(session, task, True) if form_only else _detail(session, task, True, actor)
        record_read(session, detail.task.instance_id, actor.username, now, f"task {task_id}")
        return detail


def _form_of(session: Session, task: Any, with_values: bool) -> TaskDetail:
    """The task with its form, UI schema and values, as the task index holds them."""
    version = deployed_version(session, task.instance_version)
    schema = version.forms.get(task.form or "") or {"type": "object"}
    current = task.data
    if current is None:
        current = _values_from_workflow(session, task) if with_values else {}
    data = forms.prefill(schema, current)
    data.update(task.draft or {})
    ui_schema = version.forms.get(task.ui_form or "")
    return TaskDetail(task_view(task, task.instance_version), schema, ui_schema, data, task.instance_data, current)


def _detail(session: Session, task: Any, with_values: bool, actor: access.Caller | None) -> TaskDetail:
    """The task's form, and what its page shows beside it."""
    form = _form_of(session, task, with_values)
    version = deployed_version(session, task.instance_version)
    # Who holds it, who saved the draft, and (for those who may) whom it can be given to.
    draft = _last_event(session, task.id, "draft_saved") if task.draft else None
    may_assign = isinstance(actor, access.Actor) and access.can_assign(actor, version.permissions)
    workers = _workers(session, version.permissions, task) if may_assign else ()
    names = names_of(session, {task.claimed_by, draft.actor if draft else None})
    return replace(
        form,
        claimed_by=_person(names, task.claimed_by),
        draft_saved_by=_person(names, draft.actor if draft else None),
        draft_saved_at=draft.at if draft else None,
        may_assign=may_assign,
        workers=workers,
        facts=_facts(form.ui_schema, version.forms, task.instance_data or {}),
    )


def _values_from_workflow(session: Session, task: Any) -> dict[str, Any]:
    """A task indexed before its data was kept with it (migration 0009): read it from the workflow."""
    ready = load_workflow(session, load_instance(session, task.instance_id)).ready_task(task.id)
    return form_data(ready.data) if ready is not None else {}


def _person(names: dict[str, str], username: str | None) -> Person | None:
    return Person(username, names.get(username, username)) if username else None


def _last_event(session: Session, task_id: str, *kinds: str) -> Any:
    return (
        session.connection()
        .execute(
            select(EVENTS.c.actor, EVENTS.c.at, EVENTS.c.kind)
            .where(EVENTS.c.task_id == task_id, EVENTS.c.kind.in_(kinds))
            .order_by(EVENTS.c.id.desc())
            .limit(1)
        )
        .first()
    )


def _workers(
    session: Session, perms: access.Permissions, task: Any, people: list[Any] | None = None
) -> tuple[Person, ...]:
    """Enabled people whose roles (and agency or name, in assigned lanes) let them work the task
    (``people``: the enabled users, when read once for several tasks)."""
    if people is None:
        people = _enabled_people(session)
    return tuple(
        Person(r.username, r.display_name)
        for r in people
        if access.can_work(
            access.Actor(r.username, frozenset(r.roles or ()), r.agency), perms, task.lane, task.assignee
        )
    )


def _enabled_people(session: Session) -> list[Any]:
    return list(
        session.connection().execute(
            select(USERS.c.username, USERS.c.display_name, USERS.c.roles, USERS.c.agency)
            .where(USERS.c.disabled.is_(False))
            .order_by(USERS.c.display_name)
        )
    )


def task_workers(db: Database, instance_id: int, *, actor: access.Actor) -> dict[str, tuple[Person, ...]]:
    """Open task id -> who may work it, for a case page's "Assign to": only for someone who reads the
    case and whom the permissions let assign (anyone else gets nothing to choose from)."""
    with db.transaction(write=False) as session:
        instance = load_instance(session, instance_id)
        guards.require_read(session, actor, instance)
        perms = deployed_version(session, instance.version_id).permissions
        if not access.can_assign(actor, perms) or instance.status not in ACTIVE_STATUSES:
            return {}
        rows = session.connection().execute(
            select(TASKS).where(TASKS.c.instance_id == instance_id, TASKS.c.closed_at.is_(None))
        )
        people = _enabled_people(session)
        return {row.id: _workers(session, perms, row, people) for row in rows}


_TASK_WITH_INSTANCE = (
    select(TASKS, INSTANCES.c.version_id.label("instance_version"), INSTANCES.c.data.label("instance_data"))
    .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
    .where(TASKS.c.id == bindparam("task_id"))
)


def _workable_task(session: Session, actor: access.Caller | None, task_id: str) -> Any:
    """The open task, if the caller may act on it. Access is decided first, whether the task is open
    or closed: someone who may not read the case must not learn from a 409 that the task exists."""
    row = session.connection().execute(_TASK_WITH_INSTANCE, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    guards.require_work(session, actor, row, row.instance_version, row.instance_data)
    if row.closed_at is not None:
        _refuse_closed(session, row)
    return row


def _refuse_closed(session: Session, row: Any) -> None:
    """Say who completed the task and when (or that the process closed it), not only that it is gone."""
    done = _last_event(session, row.id, "task_completed")
    by = done.actor if done is not None else None
    at = done.at if done is not None else row.closed_at
    name = names_of(session, {by}).get(by or "", by) if by else None
    what = f"completed by {name}" if by else "closed by the process"
    raise TaskClosed(
        f"task {row.id} was {what} at {at.isoformat()}", instance_id=row.instance_id, by=by, by_name=name, at=at
    )


def assign_task(db: Database, task_id: str, username: str | None, *, actor: access.Caller, now: datetime) -> TaskView:
    """Give an open task to someone who may work it (None: to no one), for those the permissions let
    assign. Whoever claimed it before is replaced; the event says who gave it to whom."""
    who = access.name_of(actor)
    with db.transaction() as session:
        row = session.connection().execute(select(TASKS).where(TASKS.c.id == task_id)).first()
        if row is None:
            raise NotFound(f"task {task_id} not found")
        instance = load_instance(session, row.instance_id)
        guards.require_read(session, actor, instance)
        perms = deployed_version(session, instance.version_id).permissions
        if isinstance(actor, access.Actor) and not access.can_assign(actor, perms):
            raise Forbidden("your roles may not assign tasks")
        if row.closed_at is not None:
            _refuse_closed(session, row)
        active_instance(session, row.instance_id, instance)
        if username is not None and username not in {p.username for p in _workers(session, perms, row)}:
            raise InvalidData(f"{username} may not work this task", fields={"/username": ["may not work this task"]})
        if username == row.claimed_by:
            return task_view(row, instance.version_id)
        session.connection().execute(update(TASKS).where(TASKS.c.id == task_id).values(claimed_by=username))
        record_event(
            session,
            row.instance_id,
            "task_assigned",
            who,
            now,
            {"bpmn_id": row.bpmn_id, "to": username, "from": row.claimed_by},
            task_id=task_id,
        )
        if username is not None and username != who:  # told, by whatever listens (notifications)
            announce_assignment(session, instance, row, username, who, now)
        return replace(task_view(row, instance.version_id), claimed_by=username)


def claim_task(db: Database, task_id: str, *, actor: access.Caller, now: datetime, release: bool = False) -> TaskView:
    """Take a task so colleagues see it is in hand (or give it back); someone else's claim is a conflict."""
    who = access.name_of(actor)
    with db.transaction() as session:
        task = _workable_task(session, actor, task_id)
        active_instance(session, task.instance_id)
        if task.claimed_by not in (None, who):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        claimed_by = None if release else who
        if claimed_by == task.claimed_by:
            return task_view(task)  # already so: nothing to record
        session.connection().execute(update(TASKS).where(TASKS.c.id == task_id).values(claimed_by=claimed_by))
        record_event(
            session,
            task.instance_id,
            "task_released" if release else "task_claimed",
            who,
            now,
            {"bpmn_id": task.bpmn_id},
            task_id=task_id,
        )
        return replace(task_view(task), claimed_by=claimed_by)


def save_draft(db: Database, task_id: str, data: dict[str, Any], *, actor: access.Caller, now: datetime) -> TaskView:
    """Keep unfinished form data on the task; it is checked only for reserved keys until completion."""
    who = access.name_of(actor)
    with db.transaction() as session:
        task = _workable_task(session, actor, task_id)
        forms.check_reserved(data)
        active_instance(session, task.instance_id)
        if task.claimed_by not in (None, who):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        session.connection().execute(update(TASKS).where(TASKS.c.id == task_id).values(draft=data))
        record_event(
            session,
            task.instance_id,
            "draft_saved",
            who,
            now,
            {"bpmn_id": task.bpmn_id, "data": data},
            task_id=task_id,
        )
        return task_view(task)


def _validate(session: Session, task: Any, instance: Any, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Check ``data`` against the task's form; returns the form's schema."""
    schema: dict[str, Any] | None = deployed_version(session, instance.version_id).forms.get(task.form or "")
    if schema is None:
        raise InvalidData(f"form '{task.form}' is missing from version {instance.version_id}")
    forms.validate(
        schema,
        data,
        assignee=task.assignee,
        documents=documents.list_for(session, instance.id) if document_fields.has_fields(schema) else (),
        case=instance.data,
        today=now.astimezone(WALES).date(),
    )
    return schema


def check_answers(db: Database, task_id: str, data: dict[str, Any], *, actor: access.Caller, now: datetime) -> None:
    """Would completing the task with this data be accepted? (Check-your-answers asks before it
    shows the answers back.) Raises what ``complete_task`` would; changes nothing."""
    who = access.name_of(actor)
    with db.transaction(write=False) as session:
        task = _workable_task(session, actor, task_id)
        if task.claimed_by not in (None, who):
            raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
        instance = active_instance(session, task.instance_id)
        schema = _validate(session, task, instance, data, now)
        if schema.get(forms.RULES_KEY):  # the facts as the task shows them: its index row's copy
            _check_rules(schema, data, task.data or {}, now, engine.DEFAULT_STEP_SECONDS)


#: What the system knows and a form never asks: who completed the step, their agency, and the date.
#: Recorded in the step's data under these names, for diagrams to read (processes/README.md).
KNOWN_FACTS = ("completed_by", "completed_by_name", "completed_by_agency", "completed_on")


def _known_facts(session: Session, actor: access.Caller, now: datetime) -> dict[str, Any]:
    who = access.name_of(actor)
    agency = actor.agency if isinstance(actor, access.Actor) else None
    known = actor.display_name if isinstance(actor, access.Actor) else None
    name = known or names_of(session, {who}).get(who, who)
    return dict(zip(KNOWN_FACTS, (who, name, agency, now.astimezone(WALES).date().isoformat()), strict=True))


# Built once: the completion path runs these on every request.
_OPEN_SIBLINGS = select(TASKS).where(
    TASKS.c.instance_id == select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("task_id")).scalar_subquery(),
    TASKS.c.closed_at.is_(None),
)


def _check_rules(
    schema: dict[str, Any], data: dict[str, Any], task_data: dict[str, Any], now: datetime, seconds: float
) -> None:
    """The form's rules, over the submitted data and the facts the task shows (from ``task_data``)."""
    with expressions.engine_context(now, seconds):
        forms.check_rules(schema, data, forms.shown_facts(schema, task_data))


def complete_task(
    db: Database,
    task_id: str,
    data: dict[str, Any],
    *,
    actor: access.Caller,
    now: datetime,
    step_seconds: float = engine.DEFAULT_STEP_SECONDS,
) -> InstanceView:
    """Complete an open task with its form data. Whether the caller may act is decided before
    anything else is said about the task or its case, in the same transaction, so a caller who may
    not act learns nothing from a 409 or a 422."""
    who = access.name_of(actor)
    try:
        with db.transaction() as session:
            siblings = session.connection().execute(_OPEN_SIBLINGS, {"task_id": task_id}).all()
            task = next((t for t in siblings if t.id == task_id), None)
            if task is None:
                task = _workable_task(session, actor, task_id)  # closed or unknown: refused in there
            instance = load_instance(session, task.instance_id)
            guards.require_work(session, actor, task, instance.version_id, instance.data)
            if task.claimed_by not in (None, who):
                raise Conflict(f"task {task_id} is claimed by {task.claimed_by}")
            instance = active_instance(session, task.instance_id, instance)
            schema = _validate(session, task, instance, data, now)
            workflow = load_workflow(session, instance)
            if schema.get(forms.RULES_KEY):
                ready = workflow.ready_task(task_id)
                if ready is None:
                    raise TaskNotReady(f"task {task_id} is no longer ready")
                _check_rules(schema, data, ready.data, now, step_seconds)
            before = instance.data
            data = {**data, **_known_facts(session, actor, now)}
            with operators.step(session, instance.id, who, now) as effects:
                try:
                    workflow.complete(task_id, data, now, step_seconds)
                except LookupError:
                    raise TaskNotReady(f"task {task_id} is no longer ready") from None
                tasks = save_step(session, instance, workflow, now, step_seconds, siblings)
                keep_live(session, instance, workflow)  # the next step on this review starts from it
            record_event(
                session,
                instance.id,
                "task_completed",
                who,
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
            return guards.shaped(session, actor, instance_view(session, instance, tasks=tasks), strict=False)
    except ScriptFailed as err:
        mark_error(db, instance_of_task(db, task_id), err, who, now, "complete_task")
        raise
