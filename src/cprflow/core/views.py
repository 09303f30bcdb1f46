"""What use cases hand back: small frozen views of tasks, instances, events and deploys.

Plain dataclasses, so the web layer, the command line and the tests read results without knowing the
tables or the engine they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: int
    process_id: str
    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    due_at: datetime | None
    assignee: str | None
    ready_at: datetime
    claimed_by: str | None = None
    version_id: int | None = None
    reference: str | None = None  # the case's reference (``core.register.REFERENCE_KEYS``), where listed with it


TASK_FIELDS = frozenset(f.name for f in fields(TaskView))


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_id: str
    version_id: int
    status: str
    data: dict[str, Any]
    next_timer_at: datetime | None
    waiting_for: list[str]
    error: str | None
    created_at: datetime
    updated_at: datetime
    open_tasks: list[TaskView] = field(default_factory=list)
    #: who started it (a username, or "demo" for the demonstration cases)
    created_by: str | None = None


@dataclass(frozen=True)
class DeployResult:
    version_id: int
    created: bool
    content_hash: str
    processes: list[dict[str, Any]]
    #: The version new reviews start on after this: ``version_id`` unless these files were an older
    #: version's, deployed again (which changes nothing: see ``message``).
    current_version_id: int | None = None
    #: What happened, in a sentence for the person who deployed.
    message: str = ""
    #: What the deploy did not refuse but people will notice (user tasks, lanes or forms without Welsh).
    warnings: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return self.current_version_id in (None, self.version_id)


@dataclass(frozen=True)
class EventView:
    id: int
    instance_id: int | None
    at: datetime
    kind: str
    actor: str
    task_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class DocumentView:
    """One stored version of a case document (its bytes stay in the store)."""

    id: int
    instance_id: int
    slot: str
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    has_text: bool
    #: pending (its text not read yet), extracted, none (no text in it) or refused (too costly to read).
    text_status: str


#: The case-data key of a review's one record of holds (the diagram's data object; processes/README.md).
HOLDS_KEY = "hold_register"


def holds_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A case's holds, from its one record. Reviews completed on versions before the record was the
    only copy kept a branch's copy under ``holds`` instead."""
    found = data.get(HOLDS_KEY)
    if not isinstance(found, list):
        found = data.get("holds")
    return [h for h in found or [] if isinstance(h, dict)] if isinstance(found, list) else []
