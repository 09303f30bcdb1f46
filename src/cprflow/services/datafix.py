"""The administrator's data fix: set named keys of a case's data, checked, with a required reason.

A fix runs nothing: it only changes what the process will read next. Each key is checked before
anything is written: a key some form of the instance's version declares must satisfy that field's
schema; any other key must already be in the case and keep its JSON type (a date stays a string).
The event records every key's value before and after, and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from cprflow.core import forms
from cprflow.core.errors import InstanceNotActive, InvalidData
from cprflow.core.views import InstanceView
from cprflow.db import audit
from cprflow.db.database import Database
from cprflow.db.store import (
    deployed_version,
    instance_view,
    load_instance,
    load_workflow,
    pack,
    record_event,
    refresh_task_data,
    update_row,
)

#: Statuses a fix may be made in: not once the instance has finished or been terminated.
FIXABLE = ("running", "waiting", "suspended", "error")
_JSON_TYPES = ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array"), (dict, "object"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next(name for kinds, name in _JSON_TYPES if isinstance(value, kinds))


def _field_schemas(forms_: dict[str, Any]) -> dict[str, list[Draft202012Validator]]:
    """Each form field's schema (read-only ones too: an admin may correct what a form only shows),
    with its form's ``$defs`` kept so references still resolve."""
    found: dict[str, list[Draft202012Validator]] = {}
    for name, schema in sorted(forms_.items()):
        if name.endswith(".uischema.json") or not isinstance(schema, dict):
            continue
        for key, field in (schema.get("properties") or {}).items():
            if isinstance(field, dict):
                root = {k: v for k, v in schema.items() if k in ("$schema", "$defs", "definitions")}
                validator = Draft202012Validator({**root, **field}, format_checker=FormatChecker())
                found.setdefault(key, []).append(validator)
    return found


def check(values: dict[str, Any], current: dict[str, Any], forms_: dict[str, Any]) -> None:
    """Raise InvalidData naming each key at fault (as ``/values/<key>``, the request's shape), or return."""
    if not values:
        raise InvalidData("name at least one data key to set", fields={"/values": ["must name at least one key"]})
    try:
        forms.check_reserved(values)
    except InvalidData as err:
        err.fields = {f"/values{pointer}": messages for pointer, messages in err.fields.items()}
        raise
    declared = _field_schemas(forms_)
    problems: dict[str, list[str]] = {}
    for key, value in values.items():
        pointer = "/values/" + key.replace("~", "~0").replace("/", "~1")
        if key in declared:
            # Valid if any form that declares the field accepts the value.
            failures = [[e.message for e in v.iter_errors(value)] for v in declared[key]]
            if all(failures):
                problems[pointer] = failures[0]
        elif key not in current:
            problems[pointer] = ["is neither a form field nor a key this case holds"]
        elif _json_type(value) != _json_type(current[key]) and current[key] is not None:
            problems[pointer] = [f"must stay a {_json_type(current[key])}"]
    if problems:
        raise InvalidData("the data fix is not valid; nothing was changed", fields=problems)


def fix_data(
    db: Database, instance_id: int, values: dict[str, Any], *, reason: str, actor: str, now: datetime
) -> InstanceView:
    if not reason.strip():
        raise InvalidData("a reason is required", fields={"/reason": ["is required"]})
    with db.transaction() as session:
        instance = load_instance(session, instance_id)
        if instance.status not in FIXABLE:
            raise InstanceNotActive(f"cannot fix the data of an instance that is {instance.status}")
        check(values, instance.data, deployed_version(session, instance.version_id).forms)
        workflow = load_workflow(session, instance)
        workflow.fix_data(values)
        snapshot = workflow.snapshot(now, 5.0, known=_open_ids(session, instance_id))
        before = instance.data
        after = {**before, **values}
        update_row(session, instance, {"state": pack(snapshot.state), "data": after, "updated_at": now})
        refresh_task_data(session, snapshot)  # the open forms show the fixed values
        instance.data, instance.updated_at = after, now
        record_event(
            session,
            instance_id,
            "data_fixed",
            actor,
            now,
            {"reason": reason, "changes": audit.changes(before, after), "keys": sorted(values)},
        )
        return instance_view(session, instance)


def _open_ids(session: Any, instance_id: int) -> set[str]:
    from sqlalchemy import select

    from cprflow.db.store import TASKS

    return {
        row.id
        for row in session.connection().execute(
            select(TASKS.c.id).where(TASKS.c.instance_id == instance_id, TASKS.c.closed_at.is_(None))
        )
    }


@dataclass(frozen=True)
class Fixable:
    """A field of the case an administrator may correct from its page: its key, its name in both
    languages (from the form that asks it, else the key), the kind of value, and the value now."""

    key: str
    title: str
    title_cy: str | None
    kind: str  # "date", "boolean", "number", "integer" or "string"
    value: Any


def fixable(db: Database, instance_id: int) -> list[Fixable]:
    """The case's fields holding a single value (text, a date, a number, yes or no), in key order;
    empty once the case may no longer be fixed."""
    with db.transaction(write=False) as session:
        instance = load_instance(session, instance_id)
        if instance.status not in FIXABLE:
            return []
        declared: dict[str, dict[str, Any]] = {}
        for name, schema in sorted(deployed_version(session, instance.version_id).forms.items()):
            if name.endswith(".uischema.json") or not isinstance(schema, dict):
                continue
            for key, field in (schema.get("properties") or {}).items():
                if isinstance(field, dict) and field.get("title"):
                    declared.setdefault(key, field)
        found = []
        for key, value in sorted((instance.data or {}).items()):
            if isinstance(value, (dict, list)) or key == forms.RESERVED_KEY:
                continue
            field = declared.get(key, {})
            kind = "date" if field.get("format") == "date" else field.get("type")
            if kind not in ("boolean", "number", "integer", "string", "date"):
                kind = {"boolean": "boolean", "number": "number"}.get(_json_type(value), "string")
            title = field.get("title")
            welsh = field.get("x-title-cy")
            found.append(
                Fixable(
                    key,
                    title if isinstance(title, str) else key,
                    welsh if isinstance(welsh, str) else None,
                    str(kind),
                    value,
                )
            )
        return found
