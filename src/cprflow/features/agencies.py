"""The agencies a review may involve, kept as data (``processes/agencies.json``: id, English and
Welsh name), and the watch for tasks nobody can see.

Forms choose agencies from the list: a field marked ``"x-choices": "agencies"`` must offer exactly
its ids (``enum``) and names (``x-enumNames``, ``x-enumNames-cy``), in order, or the deploy refuses
the set; agency accounts must name an agency of the list. A task that no enabled account can work (an
agency or a reviewer without an account) is reported to the Business Unit as it opens (template
``task_unseen``) and recorded as a ``task_unseen`` event, so a review never waits on nobody; where
there is no Business Unit account to tell (a fresh installation), nothing is reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cprflow.core import access
from cprflow.core import forms as forms_
from cprflow.core.errors import InvalidData, Problem, Text
from cprflow.db.models import Instance, ProcessVersion, User
from cprflow.db.store import CURRENT_FIRST, record_event
from cprflow.features import notifications

AGENCIES_FILE = "processes/agencies.json"
FORM_MARK = "x-choices"
UNSEEN_TEMPLATE = "task_unseen"
#: Who is told of a task nobody can see.
UNSEEN_ROLE = "business_unit"


def parse(content: bytes | str) -> tuple[list[dict[str, str]], list[str]]:
    """The agencies (each id, name, name_cy) and what is wrong with the file."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as err:
        return [], [f"not valid JSON: {err}"]
    items = document.get("agencies") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        return [], ["'agencies' must be a non-empty list"]
    found, problems, seen = [], [], set()
    for index, item in enumerate(items):
        keys = ("id", "name", "name_cy")
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k) for k in keys):
            problems.append(f"/agencies/{index}: needs id, name and name_cy, each a non-empty string")
            continue
        if item["id"] in seen:
            problems.append(f"/agencies/{index}: id '{item['id']}' is listed twice")
        seen.add(item["id"])
        found.append({k: item[k] for k in keys})
    return found, problems


def check_set(files: dict[str, bytes], forms: dict[str, Any]) -> list[Problem]:
    """The list parses, and every form field marked as an agency choice offers exactly the list."""
    marked = [
        (name, pointer, node)
        for name, form in forms.items()
        for pointer, node in forms_.marked(form, FORM_MARK, "agencies")
    ]
    content = files.get(AGENCIES_FILE)
    if content is None:
        return [
            Problem(
                f"forms/{n}",
                Text("%(field)s chooses an agency, but the set has no %(file)s", field=p, file=AGENCIES_FILE),
            )
            for n, p, _ in marked
        ]
    agencies, problems = parse(content)
    if problems:
        return [Problem(AGENCIES_FILE, p) for p in problems]
    found = []
    for name, pointer, node in marked:
        for key, expected in (
            ("enum", [a["id"] for a in agencies]),
            ("x-enumNames", [a["name"] for a in agencies]),
            ("x-enumNames-cy", [a["name_cy"] for a in agencies]),
        ):
            if node.get(key) != expected:
                found.append(
                    Problem(
                        f"forms/{name}",
                        Text(
                            "%(field)s must list the agencies of %(file)s in order",
                            field=f"{pointer}/{key}",
                            file=AGENCIES_FILE,
                        ),
                    )
                )
    return found


def known(session: Session) -> list[dict[str, str]] | None:
    """The current version's list of agencies (None when it keeps none)."""
    files = session.scalar(select(ProcessVersion.files).order_by(*CURRENT_FIRST).limit(1))
    content = (files or {}).get(AGENCIES_FILE)
    return parse(content)[0] if content else None


def check_account_agency(session: Session, agency: str | None) -> None:
    """An account's agency must be one of the list (when a list is deployed)."""
    listed = known(session)
    if agency is None or listed is None:
        return
    ids = [a["id"] for a in listed]
    if agency not in ids:
        raise InvalidData(
            f"unknown agency '{agency}'", fields={"/agency": [f"must be one of the agencies: {', '.join(ids)}"]}
        )


def _workable_by_someone(session: Session, perms: access.Permissions, lane: str | None, assignee: str | None) -> bool:
    for row in session.execute(select(User.username, User.roles, User.agency).where(User.disabled.is_(False))):
        actor = access.Actor(row.username, frozenset(row.roles or []), row.agency)
        if access.can_work(actor, perms, lane, assignee):
            return True
    return False


def _accounts_with(session: Session, role: str) -> bool:
    rows = session.execute(select(User.roles).where(User.disabled.is_(False)))
    return any(role in (roles or []) for (roles,) in rows)


def tasks_opened(session: Session, instance_id: int, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Called as tasks enter the index: report to the Business Unit any task no account can work."""
    version_id = session.scalar(select(Instance.version_id).where(Instance.id == instance_id))
    if version_id is None or not _accounts_with(session, UNSEEN_ROLE):
        return  # nobody to tell (a fresh installation, the command line on its own)
    info = notifications.version_info(session, version_id)
    settings = notifications.MailSettings.from_env()
    for row in rows:
        task = SimpleNamespace(**row)
        if _workable_by_someone(session, info.permissions, task.lane, task.assignee):
            continue
        record_event(
            session,
            instance_id,
            "task_unseen",
            "system",
            now,
            {"task_id": task.id, "bpmn_id": task.bpmn_id, "lane": task.lane, "assignee": task.assignee},
        )
        if UNSEEN_TEMPLATE + notifications.TEMPLATE_SUFFIX in info.templates:
            notifications.queue(
                session,
                templates=info.templates,
                template=UNSEEN_TEMPLATE,
                kind="task_unseen",
                people=notifications.recipients(session, roles=[UNSEEN_ROLE]),
                context=notifications.task_context(settings, task, f"#{instance_id}"),
                now=now,
                instance_id=instance_id,
                task_id=task.id,
                settings=settings,
            )
