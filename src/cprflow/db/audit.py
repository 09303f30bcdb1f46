"""The tamper-evident event log: one hash chain per instance (and one for events of no instance),
and one per reader for the records of who read what.

Read records are chained per reader, not into their case's chain, so a person opening a task never
queues behind someone completing a task of the same case for the chain's head; each read event
still names its instance, so a case's events (and trace) include its reads, and ``verify`` walks the
reader chains with the rest: a deleted or edited read is found as any other event is.

Each event stores its chain, its sequence number in that chain, the hash of its predecessor and its
own hash: SHA-256 of the canonical JSON of every stored field (bar the row id) plus that predecessor
hash. ``UNIQUE (chain, seq)`` keeps concurrent writers from forking a chain: two transactions that
read the same head both try the same ``seq``; the loser retries from the new head. The head of each
chain is mirrored in ``event_chain_heads`` so that cutting events off the end is noticed as well.

What this proves: any edit, deletion, insertion or reordering of stored events made without
recomputing every later hash (and the head). Someone who can rewrite the whole rest of a chain can
forge it, as with any unkeyed chain; ``verify`` prints each head's hash so it can be kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cprflow.db.database import Database
from cprflow.db.models import ChainHead, Event

EVENTS = Event.__table__
HEADS = ChainHead.__table__
SYSTEM_CHAIN = "system"
GENESIS = ""
#: Tries at appending before giving up; each retry means another writer took the head meanwhile.
MAX_TRIES = 50


READER_PREFIX = "reads:"
#: ``events.chain`` is 40 characters: longer usernames get a chain named by their hash.
_CHAIN_LENGTH = 40


def chain_of(instance_id: int | None) -> str:
    return SYSTEM_CHAIN if instance_id is None else f"instance:{instance_id}"


def reader_chain(username: str) -> str:
    """The chain of one person's read records."""
    chain = READER_PREFIX + username
    if len(chain) <= _CHAIN_LENGTH:
        return chain
    return READER_PREFIX + "#" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:32]


def _plain(value: Any) -> Any:
    """JSON values as every backend hands them back: PostgreSQL's JSONB turns 1e16 into an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The keys a step changed, each with its value before and after (None where absent)."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def event_hash(
    *,
    chain: str,
    seq: int,
    instance_id: int | None,
    at: datetime,
    kind: str,
    actor: str,
    task_id: str | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "chain": chain,
        "seq": seq,
        "instance_id": instance_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "kind": kind,
        "actor": actor,
        "task_id": task_id,
        "detail": _plain(detail),
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_hash(row: Any) -> str:
    return event_hash(
        chain=row.chain,
        seq=row.seq,
        instance_id=row.instance_id,
        at=row.at,
        kind=row.kind,
        actor=row.actor,
        task_id=row.task_id,
        detail=row.detail or {},
        prev_hash=row.prev_hash or GENESIS,
    )


def append(
    session: Session,
    instance_id: int | None,
    kind: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
    task_id: str | None = None,
    *,
    chain: str | None = None,
) -> int:
    """Add one event at the head of its chain (by default its instance's); returns its sequence number."""
    chain = chain or chain_of(instance_id)
    detail = json.loads(json.dumps(detail))  # exactly what the JSON column will hand back
    connection = session.connection()
    insert_event = _INSERT_EVENT_UNLESS_TAKEN[connection.dialect.name]
    for _ in range(MAX_TRIES):
        head = connection.execute(_HEAD, {"head_chain": chain}).first()
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        digest = event_hash(
            chain=chain,
            seq=seq,
            instance_id=instance_id,
            at=now,
            kind=kind,
            actor=actor,
            task_id=task_id,
            detail=detail,
            prev_hash=prev,
        )
        row = {
            "instance_id": instance_id,
            "at": now,
            "kind": kind,
            "actor": actor,
            "task_id": task_id,
            "detail": detail,
            "chain": chain,
            "seq": seq,
            "prev_hash": prev,
            "hash": digest,
        }
        # The place is taken only if no other transaction took it first: one that committed
        # meanwhile, or one still open (the insert waits for it on the unique index). Then nothing
        # is written and the new head is read again; no savepoint is needed to carry on.
        inserted = connection.execute(insert_event, row)
        if (inserted.first() is None) if inserted.returns_rows else inserted.rowcount != 1:
            continue
        if head is None:
            connection.execute(_INSERT_HEAD, {"chain": chain, "seq": seq, "hash": digest})
        else:
            connection.execute(_MOVE_HEAD, {"head_chain": chain, "head_seq": seq, "head_hash": digest})
        return seq
    raise RuntimeError(f"could not append to event chain {chain} after {MAX_TRIES} tries")


# Built once: every request that changes or reads a case appends an event.
_HEAD = select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.chain == bindparam("head_chain"))
#: By dialect: insert an event unless its (chain, seq) is taken, which writes nothing: SQLite says so
#: in the row count, PostgreSQL (whose row count SQLAlchemy does not pass on here) by returning no id.
_INSERT_EVENT_UNLESS_TAKEN = {
    "sqlite": sqlite_insert(EVENTS).on_conflict_do_nothing(index_elements=[EVENTS.c.chain, EVENTS.c.seq]),
    "postgresql": postgresql_insert(EVENTS)
    .on_conflict_do_nothing(index_elements=[EVENTS.c.chain, EVENTS.c.seq])
    .returning(EVENTS.c.id),
}
_INSERT_HEAD = insert(HEADS)
_MOVE_HEAD = (
    update(HEADS)
    .where(HEADS.c.chain == bindparam("head_chain"))
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)


# ---------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class Break:
    """The first bad event of a chain: ``event_id`` is None when the fault is at the end."""

    chain: str
    event_id: int | None
    seq: int | None
    problem: str  # edited, deleted, inserted, reordered
    message: str


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    head_seq: int | None
    head_hash: str | None
    ok: bool
    problem: Break | None = None


def verify(session: Session, *, chain: str | None = None) -> list[ChainReport]:
    """Every chain (or one), walked from its first event: the first bad event of each and why."""
    query = select(EVENTS).order_by(EVENTS.c.chain, EVENTS.c.seq, EVENTS.c.id)
    heads_query = select(HEADS)
    if chain is not None:
        query = query.where(EVENTS.c.chain == chain)
        heads_query = heads_query.where(HEADS.c.chain == chain)
    connection = session.connection()
    heads = {h.chain: h for h in connection.execute(heads_query)}
    chains: dict[str, list[Any]] = {}
    unchained = []
    for row in connection.execute(query):
        if row.chain is None:
            unchained.append(row)
        else:
            chains.setdefault(row.chain, []).append(row)
    reports = [_verify_chain(name, rows, heads.get(name)) for name, rows in sorted(chains.items())]
    for name in sorted(set(heads) - set(chains)):
        head = heads[name]
        reports.append(
            ChainReport(
                name,
                0,
                head.seq,
                head.hash,
                False,
                Break(
                    name, None, head.seq, "deleted", f"every event of the chain is gone; its head records {head.seq}"
                ),
            )
        )
    for row in unchained:
        owner = chain_of(row.instance_id)
        reports.append(
            ChainReport(
                owner,
                1,
                None,
                None,
                False,
                Break(owner, row.id, None, "inserted", f"event {row.id} was added outside any chain"),
            )
        )
    return reports


def _verify_chain(name: str, rows: list[Any], head: Any) -> ChainReport:
    problem = _first_break(name, rows)
    if problem is not None and problem.seq is not None and head is not None and problem.seq > head.seq:
        problem = Break(
            name,
            problem.event_id,
            problem.seq,
            "inserted",
            f"event {problem.event_id} was added after the recorded head (#{head.seq})",
        )
    if problem is None:
        last = rows[-1]
        if head is None:
            problem = Break(name, None, last.seq, "deleted", "the chain's head record is missing")
        elif head.seq > last.seq:
            problem = Break(
                name,
                None,
                last.seq + 1,
                "deleted",
                f"events {last.seq + 1} to {head.seq} at the end of the chain are missing",
            )
        elif head.seq != last.seq or head.hash != last.hash:
            problem = Break(
                name, last.id, last.seq, "inserted", f"event {last.id} was added after the recorded head ({head.seq})"
            )
    return ChainReport(
        name, len(rows), head.seq if head else None, head.hash if head else None, problem is None, problem
    )


def _first_break(name: str, rows: list[Any]) -> Break | None:
    expected_seq, expected_prev, before_prev = 1, GENESIS, None
    later_hashes = {r.hash: i for i, r in enumerate(rows)}
    last_id = 0
    for i, row in enumerate(rows):
        intact = _row_hash(row) == row.hash
        linked = (row.prev_hash or GENESIS) == expected_prev
        if intact and linked and row.seq == expected_seq and row.id > last_id:
            expected_seq, before_prev, expected_prev, last_id = row.seq + 1, expected_prev, row.hash, row.id
            continue
        following = rows[i + 1] if i + 1 < len(rows) else None
        if linked and not intact:
            return Break(
                name, row.id, row.seq, "edited", f"event {row.id} (#{row.seq}) was changed after it was written"
            )
        if linked and row.id <= last_id:
            return Break(name, row.id, row.seq, "reordered", f"event {row.id} (#{row.seq}) is out of order")
        if i > 0 and before_prev is not None and (row.prev_hash or GENESIS) == before_prev:
            prev = rows[i - 1]
            return Break(
                name, prev.id, prev.seq, "inserted", f"event {prev.id} (#{prev.seq}) was inserted into the chain"
            )
        if later_hashes.get(row.prev_hash or GENESIS, -1) > i:
            return Break(
                name,
                row.id,
                row.seq,
                "reordered",
                f"event {row.id} (#{row.seq}) follows an event that now comes after it",
            )
        if following is not None and (following.prev_hash or GENESIS) == expected_prev:
            return Break(name, row.id, row.seq, "inserted", f"event {row.id} (#{row.seq}) was inserted into the chain")
        if (row.prev_hash or GENESIS) not in later_hashes:
            return Break(
                name,
                row.id,
                row.seq,
                "deleted",
                f"the event before event {row.id} (#{row.seq}) is missing (expected #{expected_seq})",
            )
        return Break(name, row.id, row.seq, "edited", f"event {row.id} (#{row.seq}) does not follow its predecessor")
    return None


def backfill(connection: Any) -> None:
    """Chain the events written before the chain existed, oldest first (the 0005 migration)."""
    heads: dict[str, tuple[int, str]] = {}
    rows = connection.execute(select(EVENTS).where(EVENTS.c.chain.is_(None)).order_by(EVENTS.c.id)).all()
    for row in rows:
        chain = chain_of(row.instance_id)
        seq, prev = heads.get(chain, (0, GENESIS))
        digest = event_hash(
            chain=chain,
            seq=seq + 1,
            instance_id=row.instance_id,
            at=row.at,
            kind=row.kind,
            actor=row.actor,
            task_id=row.task_id,
            detail=row.detail or {},
            prev_hash=prev,
        )
        connection.execute(
            update(EVENTS).where(EVENTS.c.id == row.id).values(chain=chain, seq=seq + 1, prev_hash=prev, hash=digest)
        )
        heads[chain] = (seq + 1, digest)
    if heads:
        connection.execute(insert(HEADS), [{"chain": c, "seq": s, "hash": h} for c, (s, h) in heads.items()])


def summary(reports: Iterable[ChainReport]) -> dict[str, Any]:
    listed = list(reports)
    return {
        "ok": all(r.ok for r in listed),
        "chains": len(listed),
        "events": sum(r.events for r in listed),
        "broken": [
            {
                "chain": r.chain,
                "event_id": r.problem.event_id,
                "seq": r.problem.seq,
                "problem": r.problem.problem,
                "message": r.problem.message,
            }
            for r in listed
            if r.problem is not None
        ],
        "heads": {r.chain: r.head_hash for r in listed if r.head_hash},
    }


def verify_log(db: Database, *, instance_id: int | None = None) -> dict[str, Any]:
    """The use case: walk the chains (all, or one instance's) in one read transaction."""
    with db.transaction(write=False) as session:
        return summary(verify(session, chain=None if instance_id is None else chain_of(instance_id)))
