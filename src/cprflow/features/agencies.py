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
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from cprflow.core import access
from cprflow.core import forms as forms_
from cprflow.core.errors import InvalidData, Problem, Text
from cprflow.db.models import Instance, ProcessVersion, User
from cprflow.db.store import CURRENT_FIRST, record_event
from cprflow.features import notifications

USERS = cast(Table, User.__table__)
AGENCIES_FILE = "processes/agencies.json"
FORM_MARK = "x-choices"
UNSEEN_TEMPLATE = "task_unseen"


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


# Built once: it runs whenever tasks open.
_ENABLED_ACCOUNTS = select(USERS.c.username, USERS.c.roles, USERS.c.agency).where(USERS.c.disabled.is_(False))


def tasks_opened(session: Session, instance: Instance, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Called as tasks enter the index: report any task no account can work to the roles
    ``unseen_task_notified`` names in permissions.json (the Business Unit, as shipped).
    The enabled accounts are read once for the step, whatever number of tasks it opens."""
    info = notifications.version_info(session, instance.version_id)
    told = info.permissions.unseen_task_notified
    if not told:
        return  # the set names nobody to tell: no need to read the accounts
    accounts = [
        access.Actor(a.username, frozenset(a.roles or ()), a.agency)
        for a in session.connection().execute(_ENABLED_ACCOUNTS)
    ]
    if not any(a.roles & set(told) for a in accounts):
        return  # nobody to tell (none named, a fresh installation, the command line on its own)
    instance_id = instance.id
    settings = notifications.MailSettings.from_env()
    for row in rows:
        task = SimpleNamespace(**row)
        if any(access.can_work(a, info.permissions, task.lane, task.assignee) for a in accounts):
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
                people=notifications.recipients(session, roles=told),
                context=notifications.task_context(settings, task, f"#{instance_id}"),
                now=now,
                instance_id=instance_id,
                task_id=task.id,
                settings=settings,
            )
