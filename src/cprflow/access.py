"""Who may do what: the lane-to-role mapping and assignment rules, read from data.

Process owners keep ``processes/permissions.json`` beside the diagrams; it is deployed and
versioned with them. Nothing here knows a lane or a role by name except ``admin`` and
``auditor``, whose meaning is the product's, not the review process's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PERMISSIONS_FILE = "processes/permissions.json"

#: What a permissions file must look like; checked at deploy.
PERMISSIONS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["lanes"],
    "properties": {
        "lanes": {
            "description": "lane name -> roles whose members work its tasks",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "assigned_lanes": {
            "description": "lane name -> 'username' or 'agency': the task's assignee must match the user's",
            "type": "object",
            "additionalProperties": {"enum": ["username", "agency"]},
        },
        "case_readers": {
            "description": "roles that read every case of the process",
            "type": "array",
            "items": {"type": "string"},
        },
        "appointed_readers": {
            "description": "role -> data key holding the usernames appointed to a case; they read only those cases",
            "type": "object",
            "additionalProperties": {"type": "string"},
        },
        "starters": {
            "description": "process id -> roles that may start it",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "message_senders": {
            "description": "message name -> roles that may send it into a case",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "repository": {
            "description": "the findings repository: 'readers' search it and see trends, 'exporters' take the anonymised export",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "readers": {"type": "array", "items": {"type": "string"}},
                "exporters": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}

READ_EVERYTHING = frozenset({"auditor", "admin"})


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]
    agency: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def read_only(self) -> bool:
        """Auditors read everything and change nothing, whatever else the data says."""
        return "auditor" in self.roles and not self.is_admin


@dataclass(frozen=True)
class Permissions:
    lanes: dict[str, list[str]] = field(default_factory=dict)
    assigned_lanes: dict[str, str] = field(default_factory=dict)
    case_readers: list[str] = field(default_factory=list)
    appointed_readers: dict[str, str] = field(default_factory=dict)
    starters: dict[str, list[str]] = field(default_factory=dict)
    message_senders: dict[str, list[str]] = field(default_factory=dict)
    repository: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Permissions:
        return cls(**(document or {}))


def _assigned_to(actor: Actor, perms: Permissions, lane: str | None, assignee: str | None) -> bool:
    rule = perms.assigned_lanes.get(lane or "")
    if rule is None:
        return True
    mine = actor.username if rule == "username" else actor.agency
    return assignee is not None and mine == assignee


def can_work(actor: Actor, perms: Permissions, lane: str | None, assignee: str | None) -> bool:
    """May this person complete a task in ``lane`` assigned to ``assignee``?"""
    if actor.read_only:
        return False
    if not actor.roles & set(perms.lanes.get(lane or "", ())):
        return False
    return _assigned_to(actor, perms, lane, assignee)


def can_read_case(actor: Actor, perms: Permissions, data: dict[str, Any]) -> bool:
    if actor.roles & READ_EVERYTHING or actor.roles & set(perms.case_readers):
        return True
    for role, key in perms.appointed_readers.items():
        appointed = data.get(key) or []
        if role in actor.roles and actor.username in (appointed if isinstance(appointed, list) else [appointed]):
            return True
    return False


def can_start(actor: Actor, perms: Permissions, process_id: str) -> bool:
    return not actor.read_only and bool(actor.roles & set(perms.starters.get(process_id, ())))


def can_send(actor: Actor, perms: Permissions, message: str) -> bool:
    return not actor.read_only and bool(actor.roles & set(perms.message_senders.get(message, ())))


def can_read_repository(actor: Actor, perms: Permissions) -> bool:
    """The findings repository holds no case data, only filed learning; who reads it is data."""
    return bool(actor.roles & READ_EVERYTHING or actor.roles & set(perms.repository.get("readers", ())))


def can_export_repository(actor: Actor, perms: Permissions) -> bool:
    return bool(actor.roles & READ_EVERYTHING or actor.roles & set(perms.repository.get("exporters", ())))
