"""The access policy: who may read a case, work a task, start a process or send a message.

What the rules say is data: process owners keep ``processes/permissions.json`` beside the diagrams;
it is deployed and versioned with them. Nothing here knows a lane or a role by name except ``admin``
and ``auditor``, whose meaning is the product's, not the review process's.

The decisions are made here, as plain functions of the person and the permissions; the use cases in
``services/`` apply them inside their transactions (``services.guards``) and lists are filtered in
SQL by the same rules (``read_rule`` and ``work_rule``, turned into conditions by ``db.store``).
A use case is called either by a signed-in person (an ``Actor``, whose rights are checked) or by the
system itself under a plain name (the command line, timers, demo data), which is trusted.
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
        "task_assigners": {
            "description": "roles that may give any open task of a case they read to someone who may work it",
            "type": "array",
            "items": {"type": "string"},
        },
        "unseen_task_notified": {
            "description": "roles told when a task opens that no account can work (nobody would see it)",
            "type": "array",
            "items": {"type": "string"},
        },
        "message_senders": {
            "description": "message name -> roles that may send it into a case",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "repository": {
            "description": (
                "the findings repository: 'readers' search it and see trends, 'exporters' take the anonymised export"
            ),
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
    #: The person's display name as their account said when the request was checked (None: not
    #: known, look it up); it never enters an access decision.
    display_name: str | None = field(default=None, compare=False)

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
    task_assigners: list[str] = field(default_factory=list)
    unseen_task_notified: list[str] = field(default_factory=list)

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Permissions:
        return cls(**(document or {}))


#: Who a use case acts for: a signed-in person, or the system under a plain name (trusted).
Caller = Actor | str


def name_of(caller: Caller) -> str:
    """The name an event records for the caller."""
    return caller if isinstance(caller, str) else caller.username


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


def can_read_case(actor: Actor, perms: Permissions, data: dict[str, Any], *, holder: bool = False) -> bool:
    """May this person open the case? ``holder``: they hold, or held, one of its tasks (whoever is
    given a task reads the case it belongs to, so a decision is never taken blind)."""
    if holder or actor.roles & READ_EVERYTHING or actor.roles & set(perms.case_readers):
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


def can_assign(actor: Actor, perms: Permissions) -> bool:
    """May the person give tasks to colleagues (and take them back)? Auditors never may."""
    return not actor.read_only and (actor.is_admin or bool(actor.roles & set(perms.task_assigners)))


def can_read_repository(actor: Actor, perms: Permissions) -> bool:
    """The findings repository holds no case data, only filed learning; who reads it is data."""
    return bool(actor.roles & READ_EVERYTHING or actor.roles & set(perms.repository.get("readers", ())))


def can_export_repository(actor: Actor, perms: Permissions) -> bool:
    return bool(actor.roles & READ_EVERYTHING or actor.roles & set(perms.repository.get("exporters", ())))


@dataclass(frozen=True)
class WorkRule:
    """The lanes a person works under one set of permissions, by how a task there is assigned:
    ``any`` lanes take every task, ``by_username`` and ``by_agency`` only tasks assigned to them."""

    any: frozenset[str]
    by_username: frozenset[str]
    by_agency: frozenset[str]
    username: str
    agency: str | None

    @property
    def nothing(self) -> bool:
        return not (self.any or self.by_username or (self.by_agency and self.agency))


def work_rule(actor: Actor, perms: Permissions) -> WorkRule:
    """``can_work`` for every lane at once, for filtering task lists in SQL."""
    lanes = set() if actor.read_only else {lane for lane, roles in perms.lanes.items() if actor.roles & set(roles)}
    rules = perms.assigned_lanes
    return WorkRule(
        any=frozenset(lane for lane in lanes if lane not in rules),
        by_username=frozenset(lane for lane in lanes if rules.get(lane) == "username"),
        by_agency=frozenset(lane for lane in lanes if rules.get(lane) == "agency"),
        username=actor.username,
        agency=actor.agency,
    )


@dataclass(frozen=True)
class ReadRule:
    """``can_read_case`` for every case of one set of permissions, for filtering lists in SQL:
    everything, or the cases whose data names the person under one of ``appointed_keys``, or the
    cases with a task (open or closed) the person works under ``holds``."""

    everything: bool
    appointed_keys: tuple[str, ...]
    holds: WorkRule


def read_rule(actor: Actor, perms: Permissions) -> ReadRule:
    everything = bool(actor.roles & READ_EVERYTHING or actor.roles & set(perms.case_readers))
    keys = tuple(sorted(key for role, key in perms.appointed_readers.items() if role in actor.roles))
    return ReadRule(everything, keys, work_rule(actor, perms))
