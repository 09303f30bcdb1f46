"""The trace of one review: its diagram marked with what happened, and its timeline of events.

History comes from the event log (the engine prunes finished sub-workflows and loop iterations)
and the present from the engine's element states. Nothing here decides anything about the review.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lxml import etree
from sqlalchemy import select

from cprflow.core import access
from cprflow.core.errors import InvalidData
from cprflow.core.register import reference_of
from cprflow.core.views import holds_of
from cprflow.db import guards
from cprflow.db.database import Database
from cprflow.db.models import Event, ProcessVersion
from cprflow.db.store import load_instance, load_workflow

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
#: The signal held steps wait for while a hold covers them (processes/README.md, "Holds").
HOLD_RELEASE_EVENTS = frozenset({"hold_released"})
#: Precedence when an element has several states: the liveliest wins.
_RANK = {"completed": 0, "ready": 1, "waiting": 2, "held": 3, "active": 4}
_SAFE_PARSER = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    kind: str
    actor: str
    task_id: str | None
    summary: str
    data: dict[str, Any] | None
    changes: dict[str, Any] | None
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Trace:
    instance_id: int
    process_id: str
    version_id: int
    status: str
    diagram_file: str | None
    markers: dict[str, str]
    path: list[str]
    holds: list[dict[str, Any]]
    timeline: list[TimelineEntry] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    reference: str | None = None  # the case reference people know the review by (shown, not exported)


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    actor: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, args: dict[str, str]) -> Filters:
        problems: dict[str, list[str]] = {}
        days: dict[str, date | None] = {}
        for key in ("since", "until"):
            text = (args.get(key) or "").strip()
            try:
                days[key] = date.fromisoformat(text) if text else None
            except ValueError:
                problems[f"/{key}"] = ["must be a date, YYYY-MM-DD"]
        if not problems and days["since"] and days["until"] and days["until"] < days["since"]:
            problems["/until"] = ["must not be before since"]
        if problems:
            raise InvalidData("the filters are not valid", fields=problems)
        return cls(
            (args.get("kind") or "").strip() or None,
            (args.get("actor") or "").strip() or None,
            days["since"],
            days["until"],
        )

    def keep(self, event: Any) -> bool:
        day = event.at.date()
        return (
            (self.kind is None or event.kind == self.kind)
            and (self.actor is None or event.actor == self.actor)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )


def _summary(kind: str, detail: dict[str, Any]) -> str:
    """One line saying what the event was, for any kind (kinds added later are shown generically)."""
    if kind == "task_completed":
        return f"{detail.get('name') or detail.get('bpmn_id')} completed"
    if kind in ("message_received", "signal_received"):
        return f"{kind.split('_')[0]} {detail.get('name')}"
    if kind == "status_changed":
        return f"{detail.get('action')}: {detail.get('from')} → {detail.get('to')}"
    if kind == "timer_fired":
        return "timer " + ", ".join(str(t) for t in detail.get("timers") or [])
    if kind == "case_read":
        return f"read {detail.get('what')}"
    if kind == "data_fixed":
        return "data fixed: " + ", ".join(detail.get("keys") or [])
    if kind == "migrated":
        return f"migrated from version {detail.get('from_version')} to {detail.get('to_version')}"
    if kind == "started":
        return f"started {detail.get('process_id')} (version {detail.get('version_id')})"
    if kind == "error":
        return f"error during {detail.get('during')}"
    scalars = [
        f"{k}={v}" for k, v in sorted(detail.items()) if isinstance(v, (str, int, float, bool)) and len(str(v)) < 80
    ]
    return kind.replace("_", " ") + (": " + ", ".join(scalars[:4]) if scalars else "")


def _field_changes(found: Any) -> dict[str, Any] | None:
    """A data fix's changes: each key's value before and after. Other events name changes in shapes
    of their own (a migration's are elements and timers of the diagram) and are not shown as fields."""
    if not isinstance(found, dict) or not all(
        isinstance(change, dict) and {"before", "after"} <= set(change) for change in found.values()
    ):
        return None
    return found


def entry(event: Any) -> TimelineEntry:
    detail = event.detail or {}
    data = detail.get("data") if isinstance(detail.get("data"), dict) else detail.get("payload")
    changes = _field_changes(detail.get("changes"))
    reason = detail.get("reason") if isinstance(detail.get("reason"), str) else None
    return TimelineEntry(
        event.id,
        event.at,
        event.kind,
        event.actor,
        event.task_id,
        _summary(event.kind, detail),
        data if isinstance(data, dict) else None,
        changes,
        reason,
        detail,
    )


def _flows(xml: str, process_id: str) -> list[tuple[str, str, str]]:
    """(flow id, source, target) of the process's sequence flows, sub-processes included."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(**_SAFE_PARSER))
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    scope = process if process is not None else root
    return [(f.get("id"), f.get("sourceRef"), f.get("targetRef")) for f in scope.iter(f"{{{BPMN_NS}}}sequenceFlow")]


def _diagram_file(version: ProcessVersion, process_id: str) -> str | None:
    listed = next((p for p in version.processes if p.get("id") == process_id), None)
    name = listed.get("file") if listed else None
    if name and name in version.files:
        return str(name)
    candidate = f"processes/{name}" if name else None
    return candidate if candidate in version.files else None


def markers(states: dict[str, str], waiting_on: dict[str, str], history: list[Any]) -> dict[str, str]:
    """Element id -> completed, active, waiting or held: the engine's present over the log's past."""
    found: dict[str, str] = {}

    def mark(element: str, state: str) -> None:
        if _RANK[state] >= _RANK.get(found.get(element, ""), -1):
            found[element] = state

    for event in history:
        detail = event.detail or {}
        if event.kind == "task_completed" and detail.get("bpmn_id"):
            mark(str(detail["bpmn_id"]), "completed")
        elif event.kind == "timer_fired":
            for timer in detail.get("timers") or []:
                mark(str(timer), "completed")
    for element, state in states.items():
        if state == "waiting" and waiting_on.get(element) in HOLD_RELEASE_EVENTS:
            state = "held"
        mark(element, state)
    return found


def build(
    db: Database, instance_id: int, filters: Filters | None = None, *, actor: access.Actor | None = None
) -> tuple[Trace, str | None]:
    """The trace and the diagram's XML (None when the version holds no diagram for the process), for
    a person who reads the whole case (all of it when no person is given)."""
    filters = filters or Filters()
    with db.transaction(write=False) as session:
        instance = load_instance(session, instance_id)
        guards.require_full_read(session, actor, instance)
        version = session.get(ProcessVersion, instance.version_id)
        events = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)).all()
        workflow = load_workflow(session, instance)
        marked = markers(workflow.element_states(), workflow.waiting_on(), list(events))
        file = _diagram_file(version, instance.process_id) if version else None
        xml = version.files[file] if version and file else None
        visited = set(marked)
        path = [
            flow
            for flow, source, target in (_flows(xml, instance.process_id) if xml else [])
            if source in visited and target in visited and marked.get(source) == "completed"
        ]
        return Trace(
            instance.id,
            instance.process_id,
            instance.version_id,
            instance.status,
            file,
            marked,
            path,
            holds_of(instance.data or {}),
            [entry(e) for e in events if filters.keep(e)],
            sorted({e.kind for e in events}),
            sorted({e.actor for e in events}),
            reference_of(instance.data or {}),
        ), xml


# ---------------------------------------------------------------------------------------------
# Export


CSV_COLUMNS = ("id", "at", "kind", "actor", "task_id", "summary", "reason", "data", "changes")


def _cell(value: Any) -> str:
    text = (
        json.dumps(value, sort_keys=True, ensure_ascii=False)
        if isinstance(value, (dict, list))
        else ("" if value is None else value.isoformat() if isinstance(value, datetime) else str(value))
    )
    # A cell a spreadsheet would run as a formula is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def timeline_csv(trace: Trace) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in trace.timeline:
        writer.writerow([_cell(getattr(e, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def as_json(trace: Trace) -> dict[str, Any]:
    return {
        "instance_id": trace.instance_id,
        "process_id": trace.process_id,
        "version_id": trace.version_id,
        "status": trace.status,
        "diagram_file": trace.diagram_file,
        "markers": trace.markers,
        "path": trace.path,
        "holds": trace.holds,
        "timeline": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "task_id": e.task_id,
                "summary": e.summary,
                "reason": e.reason,
                "data": e.data,
                "changes": e.changes,
            }
            for e in trace.timeline
        ],
    }
