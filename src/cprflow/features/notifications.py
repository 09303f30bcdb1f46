"""Notifications: who hears about what, by email, through a durable outbox.

What is said and when is declared beside the diagrams, never here (processes/README.md,
"Notifications"):

- *event notifications* are service tasks calling the ``notify`` operator (a referral reaches the
  Sub-Group, a statutory breach reaches the Board Chair): its parameters name the template and the
  recipients (a role, a lane or usernames) and the case's pseudonymous reference;
- *task notifications* are spiffworkflow properties on a user task: ``notifyOnReady`` (template sent
  when it becomes available to someone), ``remindBefore`` (ISO duration before its due date) with
  ``remindTemplate``, and ``notifyOverdue`` (template sent once it is past due).

Templates are ``forms/<name>.notification.json``: English and Welsh, each a ``subject`` and a
``body`` rendered with Jinja2's sandbox and StrictUndefined. They are given only a pseudonymous
reference, a link (CPRFLOW_BASE_URL), the recipient's name, the task's name and its due date: email
leaves the system, so case details never reach a template at all.

Delivery: an outbox row per recipient is written in the same transaction as the change that caused
it. The worker claims a row (status ``sending``, attempt counted, committed) before talking SMTP and
marks it ``sent`` after; a failure puts it back with an exponential backoff until the last attempt
marks it ``failed``. A row a killed worker left ``sending`` may or may not have gone out: it is *in
doubt*, never resent by itself, and shown to admins, who may retry it (an event); its Message-ID is
the row's own, so a resend can be recognised downstream.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import smtplib
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

from jinja2 import TemplateError
from lxml import etree
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cprflow.config import MailSettings
from cprflow.core import access, expressions, operators, templates
from cprflow.core.errors import Conflict, InvalidData, NotFound, Problem, Text
from cprflow.db.database import Database
from cprflow.db.models import (
    ACTIVE_STATUSES,
    ROLES,
    Instance,
    NotificationSetting,
    OutboxMessage,
    ProcessVersion,
    TaskNotice,
    User,
    UserTask,
)
from cprflow.db.store import current_version_id, record_event

log = logging.getLogger(__name__)

OUTBOX = OutboxMessage.__table__
NOTICES = TaskNotice.__table__
SETTINGS = NotificationSetting.__table__
TASKS = UserTask.__table__
INSTANCES = Instance.__table__
USERS = User.__table__

TEMPLATE_SUFFIX = ".notification.json"
LANGUAGES = ("en", "cy")
DIGEST_TEMPLATE = "daily_digest"
DEFAULT_REMIND_TEMPLATE = "task_due_soon"
#: Sent to someone a task is given to by somebody else, when the version has it (nothing else declares it).
ASSIGNED_TEMPLATE = "task_assigned"
#: What a template may use: nothing about the case beyond its pseudonymous reference.
SAMPLE_CONTEXT: dict[str, Any] = {
    "reference": "CPR-0001",
    "link": "https://cprflow.example/reviews/1",
    "recipient_name": "A Person",
    "task_name": "A task",
    "due_date": "2026-01-31",
    "items": [{"subject": "A notification", "link": "https://cprflow.example/tasks/1"}],
}
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
TASK_PROPERTIES = ("notifyOnReady", "remindBefore", "remindTemplate", "notifyOverdue")
#: The property naming the case-data key that holds the pseudonymous reference shown in task emails.
REFERENCE_PROPERTY = "notifyReference"

_ENV = templates.BoundedEnvironment(autoescape=False, keep_trailing_newline=False)


# ---------------------------------------------------------------------------------------------
# Templates


def template_file(name: str) -> str:
    return f"{name}{TEMPLATE_SUFFIX}"


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)  # compiling costs milliseconds; templates repeat


def render(source: str, context: dict[str, Any]) -> str:
    """The template's text, within core.templates' bounds of time, size and memory."""
    return templates.render(_compiled(source), context)


def render_email(forms: dict[str, Any], name: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of template ``name`` in ``language`` (English if the language is unknown)."""
    document = forms.get(template_file(name))
    if not isinstance(document, dict):
        raise operators.OperatorFailed(f"no notification template '{name}' (forms/{template_file(name)})")
    texts = document.get(language) or document["en"]
    subject = " ".join(render(texts["subject"], context).split())  # one line: no header injection
    return subject[:500], render(texts["body"], context)


def _template_problems(file: str, document: Any) -> list[str]:
    if not isinstance(document, dict):
        return ["a notification template is a JSON object with 'en' and 'cy'"]
    found = []
    for language in LANGUAGES:
        texts = document.get(language)
        if not isinstance(texts, dict) or not all(isinstance(texts.get(k), str) for k in ("subject", "body")):
            found.append(f"'{language}' needs a 'subject' and a 'body'")
            continue
        for key in ("subject", "body"):
            try:
                render(texts[key], SAMPLE_CONTEXT)
            except TemplateError as err:
                found.append(f"'{language}' {key}: {err} (templates may use only {', '.join(sorted(SAMPLE_CONTEXT))})")
    return found


# ---------------------------------------------------------------------------------------------
# Declarations: read from a deployed version's diagrams


@dataclass(frozen=True)
class TaskDeclaration:
    on_ready: str | None = None
    remind_before: str | None = None
    remind_template: str = DEFAULT_REMIND_TEMPLATE
    overdue: str | None = None
    reference_key: str | None = None


def _declared(task: Any) -> TaskDeclaration | None:
    props = {
        p.get("name"): p.get("value")
        for p in task.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)
    }
    if not any(props.get(k) for k in TASK_PROPERTIES):
        return None
    return TaskDeclaration(
        props.get("notifyOnReady") or None,
        props.get("remindBefore") or None,
        props.get("remindTemplate") or DEFAULT_REMIND_TEMPLATE,
        props.get("notifyOverdue") or None,
        props.get(REFERENCE_PROPERTY) or None,
    )


def declarations(trees: Iterable[Any]) -> dict[str, TaskDeclaration]:
    """User-task id -> what it declares (task ids name one task across a set, as the index keys them)."""
    found: dict[str, TaskDeclaration] = {}
    for root in trees:
        for task in root.xpath(".//bpmn:userTask", namespaces=NS):
            declared = _declared(task)
            if declared is not None:
                found[task.get("id")] = declared
    return found


@dataclass(frozen=True)
class VersionInfo:
    tasks: dict[str, TaskDeclaration]
    templates: dict[str, Any]
    permissions: access.Permissions


_infos: dict[tuple[str, int], VersionInfo] = {}
_infos_lock = threading.Lock()
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def version_info(session: Session, version_id: int) -> VersionInfo:
    """A deployed version's declarations, templates and permissions (versions never change)."""
    key = (str(session.get_bind().url), version_id)
    info = _infos.get(key)
    if info is None:
        files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.id == version_id))
        if files is None:
            raise NotFound(f"process version {version_id} not found")
        trees = [etree.fromstring(text.encode(), _PARSER) for name, text in files.items() if name.endswith(".bpmn")]
        templates = {
            n.removeprefix("forms/"): json.loads(t)
            for n, t in files.items()
            if n.startswith("forms/") and n.endswith(TEMPLATE_SUFFIX)
        }
        perms = access.Permissions.from_document(
            json.loads(files[access.PERMISSIONS_FILE]) if access.PERMISSIONS_FILE in files else None
        )
        info = VersionInfo(declarations(trees), templates, perms)
        with _infos_lock:
            _infos[key] = info
    return info


def _newest_info(session: Session) -> VersionInfo | None:
    newest = current_version_id(session)
    return None if newest is None else version_info(session, newest)


# ---------------------------------------------------------------------------------------------
# Recipients


@dataclass(frozen=True)
class Recipient:
    username: str
    display_name: str
    language: str
    address: str
    digest: bool


def recipients(
    session: Session,
    *,
    roles: Iterable[str] = (),
    usernames: Iterable[str] = (),
    agency: str | None = None,
) -> list[Recipient]:
    """Enabled accounts holding any of ``roles`` (of ``agency`` if given) or named in ``usernames``,
    with an address to write to (their setting, or a username that is an address)."""
    wanted_roles, wanted_names = set(roles), set(usernames)
    rows = (
        session.connection()
        .execute(
            select(
                USERS.c.username,
                USERS.c.display_name,
                USERS.c.language,
                USERS.c.roles,
                USERS.c.agency,
                SETTINGS.c.email,
                SETTINGS.c.daily_digest,
            )
            .outerjoin(SETTINGS, SETTINGS.c.username == USERS.c.username)
            .where(USERS.c.disabled.is_(False))
            .order_by(USERS.c.username)
        )
        .all()
    )
    found = []
    for row in rows:
        by_role = bool(wanted_roles & set(row.roles or [])) and (agency is None or row.agency == agency)
        if not (by_role or row.username in wanted_names):
            continue
        address = row.email or (row.username if "@" in row.username else None)
        if address:
            found.append(
                Recipient(row.username, row.display_name, row.language or "en", address, bool(row.daily_digest))
            )
    return found


def task_recipients(
    session: Session, perms: access.Permissions, lane: str | None, assignee: str | None
) -> list[Recipient]:
    """Who may work a task: its lane's roles, narrowed to the assignee where the lane is assigned."""
    roles = perms.lanes.get(lane or "", [])
    rule = perms.assigned_lanes.get(lane or "")
    if rule == "username" or (lane is None and assignee):
        return [r for r in recipients(session, usernames=[assignee] if assignee else [])]
    if rule == "agency":
        return recipients(session, roles=roles, agency=assignee) if assignee else []
    return recipients(session, roles=roles)


# ---------------------------------------------------------------------------------------------
# Queueing: always inside the caller's transaction


def _message_id(settings: MailSettings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(">") or "cprflow"
    return f"<{uuid.uuid4().hex}@{domain}>"


def queue(
    session: Session,
    *,
    templates: dict[str, Any],
    template: str,
    kind: str,
    people: Sequence[Recipient],
    context: dict[str, Any],
    now: datetime,
    instance_id: int | None = None,
    task_id: str | None = None,
    settings: MailSettings | None = None,
    held: bool = True,
) -> list[int]:
    """Write one outbox row per person, in their language; held for those who take a daily digest."""
    settings = settings or MailSettings.from_env()
    ids = []
    for person in people:
        subject, body = render_email(
            templates, template, person.language, {**context, "recipient_name": person.display_name}
        )
        status = "held" if held and person.digest else "pending"
        ids.append(
            session.connection()
            .execute(
                insert(OUTBOX).returning(OUTBOX.c.id),
                {
                    "instance_id": instance_id,
                    "task_id": task_id,
                    "kind": kind,
                    "template": template,
                    "recipient": person.username,
                    "address": person.address,
                    "language": person.language,
                    "subject": subject,
                    "body": body,
                    "message_id": _message_id(settings),
                    "status": status,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                },
            )
            .scalar_one()
        )
    return ids


def _links(settings: MailSettings, instance_id: int | None = None, task_id: str | None = None) -> str:
    if task_id is not None:
        return f"{settings.base_url}/tasks/{task_id}"
    return f"{settings.base_url}/reviews/{instance_id}"


@operators.register("notify", required=("template",), optional=("role", "lane", "users", "reference"))
def notify_operator(step: operators.StepContext, params: dict[str, Any]) -> Any:
    """Email the people a diagram names (a role, a lane's roles, usernames) with a template; only
    the pseudonymous ``reference`` and a link to the case go in the message."""
    template = params["template"]
    if not isinstance(template, str) or not template:
        raise operators.OperatorFailed("'notify' needs a template name")
    users = params.get("users") or []
    if isinstance(users, str):
        users = [users]
    role, lane, reference = params.get("role"), params.get("lane"), params.get("reference")

    def write(session: Session, instance_id: int) -> None:
        settings = MailSettings.from_env()
        version_id = session.scalar(select(INSTANCES.c.version_id).where(INSTANCES.c.id == instance_id))
        info = version_info(session, version_id)
        roles = [role] if role else []
        if lane:
            roles += info.permissions.lanes.get(lane, [])
        people = recipients(session, roles=roles, usernames=[str(u) for u in users])
        context = {
            "reference": str(reference or f"#{instance_id}"),
            "link": _links(settings, instance_id),
            "task_name": "",
            "due_date": "",
        }
        ids = queue(
            session,
            templates=info.templates,
            template=template,
            kind="event",
            people=people,
            context=context,
            now=step.now,
            instance_id=instance_id,
            settings=settings,
        )
        record_event(
            session,
            instance_id,
            "notification_queued",
            step.actor,
            step.now,
            {"template": template, "recipients": [p.username for p in people], "outbox_ids": ids},
        )

    step.defer(write)
    return {"template": template}


def task_context(settings: MailSettings, task: Any, reference: str) -> dict[str, Any]:
    """What a task's email may say of it (the template variables)."""
    return _task_context(settings, task, reference)


def _task_context(settings: MailSettings, task: Any, reference: str) -> dict[str, Any]:
    due = task.due_at
    return {
        "reference": reference,
        "link": _links(settings, task_id=task.id),
        "task_name": task.name,
        "due_date": due.date().isoformat() if due else "",
    }


def _reference(data: dict[str, Any] | None, key: str | None, instance_id: int) -> str:
    """The pseudonymous reference under the key the task declares (notifyReference), else the case number."""
    value = (data or {}).get(key) if key else None
    return str(value) if isinstance(value, (str, int)) and str(value) else f"#{instance_id}"


def tasks_opened(session: Session, instance: Instance, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Called as tasks enter the index (store.sync_tasks): queue their ``notifyOnReady`` emails."""
    instance_id = instance.id
    info = version_info(session, instance.version_id)
    declared = [(row, info.tasks.get(row["bpmn_id"])) for row in rows]
    declared = [(row, d) for row, d in declared if d is not None and d.on_ready]
    if not declared:
        return
    settings = MailSettings.from_env()
    for row, decl in declared:
        task = SimpleNamespace(**row)
        people = task_recipients(session, info.permissions, task.lane, task.assignee)
        reference = _reference(instance.data, decl.reference_key, instance_id)
        queue(
            session,
            templates=info.templates,
            template=decl.on_ready or "",
            kind="task_ready",
            people=people,
            context=_task_context(settings, task, reference),
            now=now,
            instance_id=instance_id,
            task_id=task.id,
            settings=settings,
        )


def task_assigned(session: Session, instance: Instance, task: Any, to: str, by: str, now: datetime) -> None:
    """Called as someone gives a task to somebody else (services.assign_task): email them with the
    version's ``task_assigned`` template, if it has one."""
    info = version_info(session, instance.version_id)
    if template_file(ASSIGNED_TEMPLATE) not in info.templates:
        return
    declared = info.tasks.get(task.bpmn_id)
    settings = MailSettings.from_env()
    queue(
        session,
        templates=info.templates,
        template=ASSIGNED_TEMPLATE,
        kind="task_assigned",
        people=recipients(session, usernames=[to]),
        context=_task_context(
            settings, task, _reference(instance.data, declared.reference_key if declared else None, instance.id)
        ),
        now=now,
        instance_id=instance.id,
        task_id=task.id,
        settings=settings,
    )


# ---------------------------------------------------------------------------------------------
# Reminders: the worker scans the task index for due dates


def remind_at(due_at: datetime, duration: str) -> datetime:
    return expressions.shift(due_at, duration, backwards=True)


def queue_reminders(db: Database, *, now: datetime, settings: MailSettings | None = None) -> list[tuple[str, str]]:
    """Queue each open task's reminder and overdue notice once, when due; returns (task, kind) queued.

    A ``task_notices`` row per (task, kind) is written with the emails: a second worker doing the
    same at once fails on its key and writes nothing."""
    settings = settings or MailSettings.from_env()
    with db.transaction(write=False) as session:
        candidates = (
            session.connection()
            .execute(
                select(TASKS, INSTANCES.c.version_id, INSTANCES.c.data.label("instance_data"))
                .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
                .where(
                    TASKS.c.closed_at.is_(None),
                    TASKS.c.due_at.is_not(None),
                    INSTANCES.c.status.in_(ACTIVE_STATUSES),
                    ~exists().where(NOTICES.c.task_id == TASKS.c.id, NOTICES.c.kind == "overdue"),
                )
                .order_by(TASKS.c.due_at)
            )
            .all()
        )
        done = (
            {
                (n.task_id, n.kind)
                for n in session.connection().execute(
                    select(NOTICES).where(NOTICES.c.task_id.in_([c.id for c in candidates]))
                )
            }
            if candidates
            else set()
        )
        infos = {c.version_id: version_info(session, c.version_id) for c in candidates}
    queued = []
    for task in candidates:
        decl = infos[task.version_id].tasks.get(task.bpmn_id)
        if decl is None:
            continue
        wanted = []
        if decl.remind_before and now >= remind_at(task.due_at, decl.remind_before):
            wanted.append(("due_soon", decl.remind_template))
        if decl.overdue and now >= task.due_at:
            wanted.append(("overdue", decl.overdue))
        for kind, template in wanted:
            if (task.id, kind) in done:
                continue
            try:
                with db.transaction() as session:
                    session.connection().execute(insert(NOTICES), {"task_id": task.id, "kind": kind, "queued_at": now})
                    info = infos[task.version_id]
                    people = task_recipients(session, info.permissions, task.lane, task.assignee)
                    reference = _reference(task.instance_data, decl.reference_key, task.instance_id)
                    queue(
                        session,
                        templates=info.templates,
                        template=template,
                        kind=f"task_{kind}",
                        people=people,
                        context=_task_context(settings, task, reference),
                        now=now,
                        instance_id=task.instance_id,
                        task_id=task.id,
                        settings=settings,
                    )
                queued.append((task.id, kind))
            except IntegrityError:  # another worker queued it first
                continue
    return queued


# ---------------------------------------------------------------------------------------------
# Daily digest


def collect_digests(db: Database, *, now: datetime, settings: MailSettings | None = None) -> list[int]:
    """After the digest hour, gather each person's held notifications from before today into one email."""
    settings = settings or MailSettings.from_env()
    if now.hour < settings.digest_hour:
        return []
    cutoff = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with db.transaction(write=False) as session:
        people = session.scalars(
            select(OUTBOX.c.recipient).where(OUTBOX.c.status == "held", OUTBOX.c.created_at < cutoff).distinct()
        ).all()
    made: list[int] = []
    for username in people:
        try:
            made.extend(_digest_for(db, username, cutoff, now, settings))
        except _Raced:
            continue
    return made


def _digest_for(db: Database, username: str, cutoff: datetime, now: datetime, settings: MailSettings) -> list[int]:
    """One person's digest, in one transaction: the digest row written, the held rows marked in it."""
    with db.transaction() as session:
        held = (
            session.connection()
            .execute(
                select(OUTBOX)
                .where(OUTBOX.c.status == "held", OUTBOX.c.recipient == username, OUTBOX.c.created_at < cutoff)
                .order_by(OUTBOX.c.id)
            )
            .all()
        )
        info = _newest_info(session)
        if not held or info is None:
            return []
        ids = [h.id for h in held]
        person = next(iter(recipients(session, usernames=[username])), None)
        if person is None:  # no longer reachable: the held rows fail where admins see them
            session.connection().execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(ids))
                .values(status="failed", last_error="recipient has no address")
            )
            return []
        items = [{"subject": h.subject, "link": _first_link(h.body)} for h in held]
        digest_id = queue(
            session,
            templates=info.templates,
            template=DIGEST_TEMPLATE,
            kind="digest",
            people=[person],
            context={
                "reference": "",
                "link": settings.base_url + "/tasks",
                "items": items,
                "task_name": "",
                "due_date": "",
            },
            now=now,
            settings=settings,
            held=False,
        )[0]
        result = session.connection().execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == "held")
            .values(status="digested", digest_id=digest_id)
        )
        if result.rowcount != len(held):  # another worker took some: undo this digest, let it
            raise _Raced
        return [digest_id]


class _Raced(Exception):
    """Another worker changed the rows this transaction counted on; nothing of it is kept."""


def _first_link(body: str) -> str:
    for word in body.split():
        if word.startswith(("http://", "https://")):
            return word
    return ""


# ---------------------------------------------------------------------------------------------
# Sending


class Mailer:
    """One SMTP conversation per message (CPRFLOW_SMTP_*)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(message)


def build_message(row: Any, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.address
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message["Content-Language"] = row.language
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body)
    return message


@dataclass
class DeliveryRun:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _claim(db: Database, now: datetime) -> Any:
    """Take the next due row: ``sending``, attempt counted, committed before any SMTP is spoken."""
    with db.transaction() as session:
        query = (
            select(OUTBOX)
            .where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now)
            .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
            .limit(1)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row = session.connection().execute(query).first()
        if row is None:
            return None
        result = session.connection().execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row.id, OUTBOX.c.status == "pending")
            .values(status="sending", attempts=row.attempts + 1, sending_at=now)
        )
        if result.rowcount != 1:
            return False
        return session.connection().execute(select(OUTBOX).where(OUTBOX.c.id == row.id)).first()


def _describe(err: Exception) -> str:
    """What went wrong, without anything the server may have echoed of the message."""
    if isinstance(err, smtplib.SMTPResponseException):
        return f"SMTP {err.smtp_code}"
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "recipient refused"
    return type(err).__name__


def deliver_due(
    db: Database,
    *,
    now: datetime,
    settings: MailSettings | None = None,
    mailer: Any = None,
    limit: int = 100,
) -> DeliveryRun:
    """Send every pending message whose time has come (at most ``limit``)."""
    settings = settings or MailSettings.from_env()
    mailer = mailer or Mailer(settings)
    run = DeliveryRun()
    for _ in range(limit):
        row = _claim(db, now)
        if row is None:
            break
        if row is False:
            continue
        try:
            mailer.send(build_message(row, settings))
        except (smtplib.SMTPException, OSError, ValueError) as err:  # ValueError: an address smtplib refuses
            last = row.attempts >= settings.max_attempts
            wait = timedelta(seconds=settings.backoff_seconds * 2 ** (row.attempts - 1))
            with db.transaction() as session:
                session.connection().execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == row.id, OUTBOX.c.status == "sending")
                    .values(
                        status="failed" if last else "pending",
                        next_attempt_at=None if last else now + wait,
                        last_error=_describe(err),
                    )
                )
            (run.failed if last else run.retrying).append(row.id)
            continue
        with db.transaction() as session:
            session.connection().execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == row.id, OUTBOX.c.status == "sending")
                .values(status="sent", sent_at=now, last_error=None)
            )
        run.sent.append(row.id)
    return run


@dataclass
class NotifyRun:
    reminders: list[tuple[str, str]]
    digests: list[int]
    delivery: DeliveryRun


def run_once(db: Database, *, now: datetime, settings: MailSettings | None = None, mailer: Any = None) -> NotifyRun:
    settings = settings or MailSettings.from_env()
    reminders = queue_reminders(db, now=now, settings=settings)
    digests = collect_digests(db, now=now, settings=settings)
    return NotifyRun(reminders, digests, deliver_due(db, now=now, settings=settings, mailer=mailer))


def work(
    db: Database,
    *,
    settings: MailSettings | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Queue reminders, gather digests and send, every ``poll_seconds``, until ``stop`` is set."""
    settings = settings or MailSettings.from_env()
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            run = run_once(db, now=clock(), settings=settings)
            if run.delivery.sent or run.delivery.failed or run.reminders:
                log.info(
                    "notifications sent=%d retrying=%d failed=%d reminders=%d",
                    len(run.delivery.sent),
                    len(run.delivery.retrying),
                    len(run.delivery.failed),
                    len(run.reminders),
                )
        except Exception as err:
            log.error("notification run failed (%s); retrying", type(err).__name__)
        stop.wait(settings.poll_seconds)


# ---------------------------------------------------------------------------------------------
# Administration


@dataclass(frozen=True)
class OutboxView:
    id: int
    instance_id: int | None
    task_id: str | None
    kind: str
    template: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sending_at: datetime | None
    next_attempt_at: datetime | None
    message_id: str


def _view(row: Any, now: datetime, settings: MailSettings) -> OutboxView:
    status = row.status
    if status == "sending" and _in_doubt(row, now, settings):
        status = "in_doubt"
    return OutboxView(
        row.id,
        row.instance_id,
        row.task_id,
        row.kind,
        row.template,
        row.recipient,
        status,
        row.attempts,
        row.last_error,
        row.created_at,
        row.sending_at,
        row.next_attempt_at,
        row.message_id,
    )


def _in_doubt(row: Any, now: datetime, settings: MailSettings) -> bool:
    return (
        row.status == "sending"
        and row.sending_at is not None
        and row.sending_at <= now - timedelta(seconds=settings.in_doubt_seconds)
    )


def problems(db: Database, *, now: datetime, settings: MailSettings | None = None) -> list[OutboxView]:
    """Failed messages and those in doubt (left 'sending' longer than a send can take), oldest first."""
    settings = settings or MailSettings.from_env()
    doubt_before = now - timedelta(seconds=settings.in_doubt_seconds)
    with db.transaction(write=False) as session:
        rows = (
            session.connection()
            .execute(
                select(OUTBOX)
                .where(
                    or_(
                        OUTBOX.c.status == "failed",
                        and_(OUTBOX.c.status == "sending", OUTBOX.c.sending_at <= doubt_before),
                    )
                )
                .order_by(OUTBOX.c.id)
            )
            .all()
        )
    return [_view(r, now, settings) for r in rows]


def retry(
    db: Database, outbox_id: int, *, actor: str, now: datetime, settings: MailSettings | None = None
) -> OutboxView:
    """An admin sends a failed or in-doubt message again (once more); recorded as an event."""
    settings = settings or MailSettings.from_env()
    with db.transaction() as session:
        row = session.connection().execute(select(OUTBOX).where(OUTBOX.c.id == outbox_id)).first()
        if row is None:
            raise NotFound(f"notification {outbox_id} not found")
        if not (row.status == "failed" or _in_doubt(row, now, settings)):
            raise Conflict(f"notification {outbox_id} is {row.status}: only failed or in-doubt ones are retried")
        session.connection().execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == outbox_id)
            .values(status="pending", next_attempt_at=now, attempts=min(row.attempts, settings.max_attempts - 1))
        )
        previous = "in_doubt" if row.status == "sending" else row.status
        record_event(
            session,
            row.instance_id,
            "notification_retried",
            actor,
            now,
            {"outbox_id": outbox_id, "from": previous, "recipient": row.recipient, "template": row.template},
        )
        row = session.connection().execute(select(OUTBOX).where(OUTBOX.c.id == outbox_id)).first()
        return _view(row, now, settings)


@dataclass(frozen=True)
class SettingView:
    username: str
    email: str | None
    daily_digest: bool


def get_setting(db: Database, username: str) -> SettingView:
    with db.transaction(write=False) as session:
        row = session.connection().execute(select(SETTINGS).where(SETTINGS.c.username == username)).first()
    return SettingView(username, row.email if row else None, bool(row.daily_digest) if row else False)


def set_setting(db: Database, username: str, *, email: str | None, daily_digest: bool) -> SettingView:
    """A person's address and digest choice; an address is checked for shape, not delivered to."""
    if email is not None:
        email = email.strip()
        if (
            not email
            or len(email) > 320
            or email.count("@") != 1
            or any(c.isspace() or c in '<>,;"' for c in email)
            or not all(email.split("@"))
        ):
            raise InvalidData("not an email address", fields={"/email": ["is not an email address"]})
    with db.transaction() as session:
        if session.scalar(select(USERS.c.id).where(USERS.c.username == username)) is None:
            raise NotFound(f"user {username} not found")
        values = {"email": email, "daily_digest": daily_digest}
        if (
            session.connection()
            .execute(update(SETTINGS).where(SETTINGS.c.username == username).values(**values))
            .rowcount
            == 0
        ):
            session.connection().execute(insert(SETTINGS), {"username": username, **values})
    return SettingView(username, email, daily_digest)


def messages_for(db: Database, *, instance_id: int | None = None) -> list[Any]:
    with db.transaction(write=False) as session:
        query = select(OUTBOX).order_by(OUTBOX.c.id)
        if instance_id is not None:
            query = query.where(OUTBOX.c.instance_id == instance_id)
        return list(session.connection().execute(query).all())


# ---------------------------------------------------------------------------------------------
# The deploy check


def literal_param(value: str | None) -> Any:
    """A parameter's value when it is a plain literal ('referral_received'), else None."""
    try:
        return ast.literal_eval((value or "").strip())
    except (ValueError, SyntaxError):
        return None


def check(trees: dict[str, Any], forms: dict[str, Any], permissions: dict[str, Any] | None) -> list[Problem]:
    """What is wrong with the set's notification declarations and templates (processes.check)."""
    found: list[Problem] = []
    templates = {n.removesuffix(TEMPLATE_SUFFIX) for n in forms if n.endswith(TEMPLATE_SUFFIX)}
    for name in sorted(templates):
        found.extend(
            Problem(f"forms/{template_file(name)}", message)
            for message in _template_problems(name, forms[template_file(name)])
        )
    lanes = set((permissions or {}).get("lanes", {}))

    def need(file: str, element: Any, name: Any, line: int | None) -> None:
        if name not in templates:
            found.append(
                Problem(
                    file,
                    Text(
                        "notification template '%(name)s' not found (%(file)s)",
                        name=name,
                        file=f"forms/{template_file(str(name))}",
                    ),
                    element,
                    line,
                )
            )

    declares = False
    for file, root in trees.items():
        if not file.endswith(".bpmn"):
            continue
        for task in root.xpath(".//bpmn:userTask", namespaces=NS):
            decl = _declared(task)
            if decl is None:
                continue
            declares = True
            tid, line = task.get("id"), task.sourceline
            for name in (decl.on_ready, decl.overdue):
                if name:
                    need(file, tid, name, line)
            if decl.remind_before:
                need(file, tid, decl.remind_template, line)
                try:
                    expressions._parse_duration(decl.remind_before)
                except ValueError:
                    found.append(
                        Problem(
                            file,
                            Text("remindBefore '%(value)s' is not an ISO 8601 duration", value=decl.remind_before),
                            tid,
                            line,
                        )
                    )
            has_due = task.xpath(
                "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='dueDate']",
                namespaces=NS,
            )
            if (decl.remind_before or decl.overdue) and not has_due:
                found.append(Problem(file, Text("a reminder or overdue notice needs the task's dueDate"), tid, line))
        for op in root.xpath(
            ".//bpmn:serviceTask/bpmn:extensionElements/spiffworkflow:serviceTaskOperator[@id='notify']", namespaces=NS
        ):
            declares = True
            element = op.getparent().getparent().get("id")
            params = {p.get("id"): p.get("value") for p in op.xpath(".//spiffworkflow:parameter", namespaces=NS)}
            template = literal_param(params.get("template"))
            if isinstance(template, str):
                need(file, element, template, op.sourceline)
            role = literal_param(params.get("role"))
            if isinstance(role, str) and role not in ROLES:
                found.append(
                    Problem(
                        file,
                        Text("role '%(role)s' is not a role (known: %(known)s)", role=role, known=", ".join(ROLES)),
                        element,
                        op.sourceline,
                    )
                )
            lane = literal_param(params.get("lane"))
            if isinstance(lane, str) and lane not in lanes:
                found.append(
                    Problem(
                        file,
                        Text("lane '%(lane)s' has no roles in %(file)s", lane=lane, file=access.PERMISSIONS_FILE),
                        element,
                        op.sourceline,
                    )
                )
            if not any(params.get(k) for k in ("role", "lane", "users")):
                found.append(
                    Problem(file, Text("'notify' needs a role, a lane or users to tell"), element, op.sourceline)
                )
    if declares and DIGEST_TEMPLATE not in templates:
        found.append(
            Problem(
                f"forms/{template_file(DIGEST_TEMPLATE)}",
                Text("the daily digest template is missing (people who choose a digest get it)"),
            )
        )
    return found
