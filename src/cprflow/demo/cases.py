"""Demo accounts and demo cases for `make run`, so a newcomer sees a living system.

Everything created here is marked as demo: accounts are named after their role and demo cases
are started by the user ``demo``. Passwords are new on every run and printed, never stored
in the repository.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from cprflow import services
from cprflow.core import document_fields
from cprflow.core.errors import CprflowError, NotFound
from cprflow.core.expressions import WALES
from cprflow.db.database import Database
from cprflow.demo import samplefiles
from cprflow.features import documents
from cprflow.services import users

#: (username, roles, agency) for one account per kind of user.
ACCOUNTS: list[tuple[str, list[str], str | None]] = [
    ("bu", ["business_unit"], None),
    ("subgroup", ["review_subgroup"], None),
    ("chair", ["board_chair", "board_member"], None),
    ("board", ["board_member"], None),
    ("panelchair", ["panel_chair", "panel_member"], None),
    ("panel", ["panel_member"], None),
    ("reviewer1", ["reviewer"], None),
    ("reviewer2", ["reviewer"], None),
    ("police", ["agency"], "police"),
    ("health", ["agency"], "health"),
    ("education", ["agency"], "education"),
    ("socialcare", ["agency"], "social_services"),
    ("owner", ["process_owner"], None),
    ("auditor", ["auditor"], None),
    ("admin", ["admin"], None),
]


def ensure_accounts(db: Database, *, now: datetime) -> list[tuple[str, str, str]]:
    printed = []
    existing = {u.username for u in users.list_users(db)}
    for username, roles, agency in ACCOUNTS:
        password = secrets.token_urlsafe(9)
        if username in existing:
            users.set_password(db, username, password)
        else:
            users.add_user(
                db, username, password=password, roles=roles, agency=agency, now=now, display_name=f"Demo {username}"
            )
        printed.append((username, password, ", ".join(roles) + (f" ({agency})" if agency else "")))
    return printed


def ensure_reviews(db: Database, *, now: datetime, step_seconds: float, script: Path) -> list[int]:
    """Start the demo cases once (none if any demo case exists) and walk each to its stage, each start
    and step on its ``on`` day where the script gives one (10:00 in Wales, never after ``now``), so
    the deadlines the diagrams set from those days are met or missed as the dates say."""
    if not script.is_file():
        return []
    instances, _ = services.list_instances(db, limit=10_000)
    if any(i.created_by == "demo" for i in instances):
        return []
    started = []
    for case in json.loads(script.read_text()):
        try:
            view = services.start_instance(
                db,
                case["process"],
                case.get("data", {}),
                actor="demo",
                now=_on(case.get("on"), now),
                step_seconds=step_seconds,
            )
            for step in case.get("steps", []):
                task = next(
                    (t for t in services.list_tasks(db, instance_id=view.id) if t.bpmn_id == step["task"]), None
                )
                if task is None:
                    raise NotFound(f"demo step {step['task']} is not ready")
                when, who = _on(step.get("on"), now), step.get("as", "demo")
                data = _with_documents(db, view.id, task, dict(step.get("data", {})), now=when, actor=who)
                services.complete_task(db, task.id, data, actor=who, now=when, step_seconds=step_seconds)
        except CprflowError as err:
            raise CprflowError(f"demo case '{case.get('title', case['process'])}' failed: {err.message}") from err
        started.append(view.id)
    return started


def _on(day: str | None, now: datetime) -> datetime:
    """10:00 in Wales on ``day`` (ISO), or ``now`` when no day is given or the day is still to come."""
    if day is None:
        return now
    return min(datetime.combine(date.fromisoformat(day), time(10), tzinfo=WALES).astimezone(UTC), now)


def _with_documents(
    db: Database, instance_id: int, task: services.TaskView, data: dict[str, Any], *, now: datetime, actor: str
) -> dict[str, Any]:
    """A demo step gives an upload field some text: file it as a small PDF in the field's slot and
    put the document's reference in its place, as the task page would for ``actor``."""
    schema = services.get_task(db, task.id, with_values=False).schema
    for pointer, template in document_fields.fields(schema):
        key = pointer.strip("/")
        if "/" in key or not isinstance(data.get(key), str):
            continue
        slot = document_fields.slot_of(template, task.assignee)
        if slot is None:
            continue
        with db.transaction() as session:
            stored = documents.store(
                session,
                instance_id=instance_id,
                slot=slot,
                filename=f"{slot}.pdf",
                data=samplefiles.pdf("Demo document", data[key]),
                actor=actor,
                now=now,
                text_now=True,
            )
        data[key] = document_fields.reference(stored)
    return data
