"""Form fields that take files: the ``x-document`` convention, and checking the references they hold.

A process owner adds an upload field to a form by declaring, in its JSON Schema, an object property
carrying ``"x-document": {"slot": "final_report"}``. The file itself goes to the document store
(``documents.py``); the field's stored value is only a *reference*::

    {"document_id": 42, "version": 3, "filename": "final-report.pdf"}

The slot may name the task's assignee, ``"agency_timeline_{assignee}"``, so that each agency's
timeline is its own slot with its own versions. A reference is valid only if it names a document of
the same instance and of the slot the field declares, with that document's version and file name:
a form cannot point at another case's file, or at a report where a briefing is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from cprflow.core.views import DocumentView

KEY = "x-document"
#: What a slot name may be: lower-case letters, digits and underscores.
SLOT = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_PLACEHOLDER = re.compile(r"\{assignee\}")


def fields(schema: dict[str, Any], pointer: str = "") -> Iterator[tuple[str, str]]:
    """(JSON pointer, slot template) of every document field, top level and inside sections."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return
    for key, node in props.items():
        if not isinstance(node, dict):
            continue
        here = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"  # a JSON pointer, as forms name fields
        spec = node.get(KEY)
        if isinstance(spec, dict) and isinstance(spec.get("slot"), str):
            yield here, spec["slot"]
        elif node.get("type") == "object":
            yield from fields(node, here)


def slot_of(template: str, assignee: str | None) -> str | None:
    """The slot a field names for a task with this assignee (None if it cannot be resolved)."""
    if _PLACEHOLDER.search(template):
        if not assignee:
            return None
        template = _PLACEHOLDER.sub(assignee.lower(), template)
    return template if SLOT.match(template) else None


def template_problems(schema: dict[str, Any]) -> list[str]:
    """What is wrong with a form's document fields (deploy check)."""
    found = []
    for pointer, template in fields(schema):
        if not SLOT.match(_PLACEHOLDER.sub("x", template)) or "{" in _PLACEHOLDER.sub("", template):
            found.append(
                f"{pointer}: x-document slot {template!r} must be lower-case letters, digits and "
                "underscores, optionally with {assignee}"
            )
    return found


def declares(forms: Iterable[dict[str, Any]], slot: str) -> bool:
    """Does any form of a version ask for files in ``slot``? (Uploads go only to declared slots.)"""
    for schema in forms:
        for _, template in fields(schema):
            pattern = "^" + "[a-z0-9_]+".join(re.escape(p) for p in _PLACEHOLDER.split(template)) + "$"
            if re.match(pattern, slot):
                return True
    return False


def owner_of(forms: Iterable[dict[str, Any]], slot: str) -> str | None:
    """The assignee (an agency) whose own slot this is, if it is only ever made from a template naming
    the assignee (``agency_timeline_{assignee}`` -> ``police``); None for a slot of the whole case."""
    owners: set[str] = set()
    for schema in forms:
        for _, template in fields(schema):
            parts = _PLACEHOLDER.split(template)
            if len(parts) == 1:
                if template == slot:
                    return None
                continue
            pattern = "^" + "([a-z0-9_]+)".join(re.escape(p) for p in parts) + "$"
            found = re.match(pattern, slot)
            if found:
                owners.add(found.group(1))
    return min(owners) if owners else None


def reference(document: DocumentView) -> dict[str, Any]:
    return {"document_id": document.id, "version": document.version, "filename": document.filename}


def _at(data: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        if not isinstance(data, dict):
            return None
        data = data.get(part.replace("~1", "/").replace("~0", "~"))
    return data


def check(
    schema: dict[str, Any], data: dict[str, Any], documents: Iterable[DocumentView], assignee: str | None
) -> dict[str, list[str]]:
    """Problems with the references in ``data`` (pointer -> messages); empty if all are sound."""
    by_id = {d.id: d for d in documents}
    problems: dict[str, list[str]] = {}
    for pointer, template in fields(schema):
        value = _at(data, pointer)
        if not isinstance(value, dict):
            continue  # absent (required-ness is the schema's) or the wrong type (the schema says so)
        document_id = value.get("document_id")
        document = by_id.get(document_id) if isinstance(document_id, int) else None
        slot = slot_of(template, assignee)
        if document is None or document.slot != slot:
            # The same words whether the id is unknown or names a document of another slot: the
            # answer never tells a person what else (another agency's timeline) the case holds.
            problems[pointer] = [f"names no document of this review filed as '{slot}'"]
        elif value.get("version") != document.version or value.get("filename") != document.filename:
            problems[pointer] = ["does not match the stored document's version and file name"]
    return problems


def has_fields(schema: dict[str, Any] | None) -> bool:
    return bool(schema) and any(True for _ in fields(schema or {}))
