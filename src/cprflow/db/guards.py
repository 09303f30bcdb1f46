"""The access policy applied inside a use case's transaction: read a case, work a task, start, send.

Every use case that a signed-in person calls (in ``services/`` and ``features/``) passes them here;
this module looks up what a decision needs and the decisions are ``core.access``'s;
the refusals are domain errors the web layer maps to 403 or 404. A person who may not read a case
learns nothing about it: they get "not found" whether or not it exists. The system itself (the
command line, timers, demo data: a plain name rather than an ``Actor``) is trusted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow.core import access, document_fields
from cprflow.core import register as reg
from cprflow.core.errors import Forbidden, NotFound
from cprflow.core.views import InstanceView
from cprflow.db.store import TASKS, deployed_version, latest_version_with


def holds_task(session: Session, actor: access.Actor, perms: access.Permissions, instance_id: int) -> bool:
    """Does the person hold, or did they hold, a task of this case?"""
    tasks = session.connection().execute(
        select(TASKS.c.lane, TASKS.c.assignee).where(TASKS.c.instance_id == instance_id).distinct()
    )
    return any(access.can_work(actor, perms, t.lane, t.assignee) for t in tasks)


def held_tasks(session: Session, actor: access.Actor, perms: access.Permissions, instance_id: int) -> list[Any]:
    """(form, assignee) of the tasks of this case the person holds or held (empty: they hold none)."""
    tasks = session.connection().execute(
        select(TASKS.c.lane, TASKS.c.assignee, TASKS.c.form).where(TASKS.c.instance_id == instance_id).distinct()
    )
    return [t for t in tasks if access.can_work(actor, perms, t.lane, t.assignee)]


def readable_slots(session: Session, actor: access.Caller | None, instance: Any) -> set[str] | None:
    """Which of the case's documents the caller may open: all (None) for readers of the case; for a
    person who holds or held tasks in it, those in the slots their tasks' forms show; else not found."""
    if not isinstance(actor, access.Actor):
        return None
    version = deployed_version(session, instance.version_id)
    if access.can_read_case(actor, version.permissions, instance.data or {}):
        return None
    held = held_tasks(session, actor, version.permissions, instance.id)
    if not held:
        raise NotFound(f"instance {instance.id} not found")
    return {
        slot
        for task in held
        for _, template in document_fields.fields(version.forms.get(task.form or "") or {})
        if (slot := document_fields.slot_of(template, task.assignee)) is not None
    }


def require_full_read(session: Session, actor: access.Caller | None, instance: Any) -> None:
    """Whole-case views (the trace, every event) are for readers of the case, not for task holders."""
    if isinstance(actor, access.Actor) and not access.can_read_case(
        actor, deployed_version(session, instance.version_id).permissions, instance.data or {}
    ):
        raise NotFound(f"instance {instance.id} not found")


def may_read(session: Session, actor: access.Actor, instance: Any) -> bool:
    perms = deployed_version(session, instance.version_id).permissions
    return access.can_read_case(actor, perms, instance.data or {}) or holds_task(session, actor, perms, instance.id)


def require_read(session: Session, actor: access.Caller | None, instance: Any) -> None:
    """Let the caller read the case, or say it is not there."""
    if isinstance(actor, access.Actor) and not may_read(session, actor, instance):
        raise NotFound(f"instance {instance.id} not found")


#: Case data a person who only holds or held a task in a case sees of it: where it stands, and its
#: pseudonymous reference (the one their task emails and their task list already name it by). What
#: their task decides on is on the task's own form (its read-only facts), so nothing of another
#: agency's part reaches them through the case.
HOLDER_SEES = ("stage", *reg.REFERENCE_KEYS)


def shaped(session: Session, actor: access.Caller | None, view: InstanceView, *, strict: bool = True) -> InstanceView:
    """The instance as this caller may see it: whole for readers of the case; for a person who only
    holds or held tasks in it, where it stands and their own open tasks; otherwise (``strict``) not
    found, or (after they acted on it) the bare instance without data or tasks."""
    if not isinstance(actor, access.Actor):
        return view
    perms = deployed_version(session, view.version_id).permissions
    if access.can_read_case(actor, perms, view.data):
        return view
    if strict and not holds_task(session, actor, perms, view.id):
        raise NotFound(f"instance {view.id} not found")
    return replace(
        view,
        data={k: v for k, v in view.data.items() if k in HOLDER_SEES},
        next_timer_at=None,
        waiting_for=[],
        error=None,
        open_tasks=[t for t in view.open_tasks if access.can_work(actor, perms, t.lane, t.assignee)],
    )


def require_work(session: Session, actor: access.Caller | None, task: Any, version_id: int, data: Any) -> None:
    """Let the caller act on the task; one who may read its case but not act gets a 403 saying so."""
    if not isinstance(actor, access.Actor):
        return
    perms = deployed_version(session, version_id).permissions
    if access.can_work(actor, perms, task.lane, task.assignee):
        return
    if access.can_read_case(actor, perms, data or {}) or holds_task(session, actor, perms, task.instance_id):
        raise Forbidden("you may read this task but not act on it")
    raise NotFound(f"task {task.id} not found")


def require_start(session: Session, actor: access.Caller, process_id: str) -> int:
    """The version new instances of the process start on, if the caller may start one."""
    version_id = latest_version_with(session, process_id)
    if isinstance(actor, access.Actor) and not access.can_start(
        actor, deployed_version(session, version_id).permissions, process_id
    ):
        raise Forbidden(f"your roles may not start '{process_id}'")
    return version_id


def require_send(session: Session, actor: access.Caller, instance: Any, message: str) -> None:
    """Senders named in the permissions may send without reading the case; others who read it are
    told why not; the rest learn nothing."""
    if not isinstance(actor, access.Actor):
        return
    perms = deployed_version(session, instance.version_id).permissions
    if access.can_send(actor, perms, message):
        return
    require_read(session, actor, instance)
    raise Forbidden(f"your roles may not send '{message}'")


def require_admin(actor: access.Caller) -> None:
    if isinstance(actor, access.Actor) and not actor.is_admin:
        raise Forbidden("only an administrator may do this")
