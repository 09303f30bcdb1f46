"""Due timers: find the instances whose next timer has come, fire each in its own transaction.

Safe with several workers: PostgreSQL hands each due instance to one worker (FOR UPDATE SKIP
LOCKED); SQLite serialises writers and the version counter refuses a stale write.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from cprflow.core import operators
from cprflow.core.errors import Conflict, ScriptFailed
from cprflow.db import audit
from cprflow.db.database import Database
from cprflow.db.models import ACTIVE_STATUSES, Instance, WorkerBeat
from cprflow.db.store import load_workflow, mark_error, record_event, save_step
from cprflow.engine import DEFAULT_STEP_SECONDS

log = logging.getLogger(__name__)
ACTOR = "timer"


@dataclass
class TimerRun:
    fired: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


def run_due(
    db: Database,
    *,
    now: datetime,
    step_seconds: float = DEFAULT_STEP_SECONDS,
    limit: int = 1000,
    alive: Callable[[], None] | None = None,
) -> TimerRun:
    """Fire every timer due at ``now`` (at most ``limit`` instances), one transaction each;
    ``alive`` is called before each (the worker's heartbeat, so a long batch is not taken for death)."""
    result = TimerRun()
    seen: set[int] = set()
    while len(seen) < limit:
        if alive is not None:
            alive()
        outcome = _fire_next(db, now, step_seconds, seen)
        if outcome is None:
            break
        instance_id, failure = outcome
        if failure is None:
            result.fired.append(instance_id)
        elif isinstance(failure, ScriptFailed):
            mark_error(db, instance_id, failure, ACTOR, now, "timer")
            result.failed.append(instance_id)
        else:  # another worker or a user got there first; the next run sees the new state
            result.conflicts.append(instance_id)
    return result


def _fire_next(db: Database, now: datetime, step_seconds: float, seen: set[int]) -> tuple[int, Exception | None] | None:
    claimed: int | None = None
    try:
        with db.transaction() as session:
            table = Instance.__table__
            query = (
                select(table)
                .where(table.c.status.in_(ACTIVE_STATUSES), table.c.next_timer_at <= now)
                .order_by(table.c.next_timer_at)
                .limit(1)
            )
            if seen:
                query = query.where(table.c.id.not_in(seen))
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            row = session.connection().execute(query).first()
            if row is None:
                return None
            instance = Instance(**row._mapping)  # detached: written only through the version check
            claimed = instance.id
            seen.add(claimed)
            workflow = load_workflow(session, instance)
            due = workflow.due_timers(now)
            before = instance.data
            with operators.step(session, claimed, ACTOR, now) as effects:
                workflow.fire_timers(now, step_seconds)
                save_step(session, instance, workflow, now, step_seconds)
            record_event(
                session,
                claimed,
                "timer_fired",
                ACTOR,
                now,
                {"timers": due, "changes": audit.changes(before, instance.data)},
            )
            effects.apply(claimed)
            return claimed, None
    except (ScriptFailed, Conflict) as err:
        if claimed is None:
            raise
        return claimed, err


def next_due(db: Database) -> datetime | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.min(Instance.next_timer_at)).where(Instance.status.in_(ACTIVE_STATUSES)))


# ---------------------------------------------------------------------------------------------
# Heartbeats: each timer worker writes when it last looked and by when it will look again, so
# readiness (``/readyz``) can tell that timers have stopped firing even when the worker runs in
# another process. A worker that stops cleanly removes its row; one that dies leaves it to expire.

KIND = "timers"
#: A worker writes its heartbeat at most this often...
BEAT_SECONDS = 10.0
#: ...and counts as dead when it has not written one for this long (or three polls, if longer).
DEAD_AFTER_SECONDS = 60.0


def worker_name() -> str:
    return f"{KIND}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def beat(db: Database, name: str, *, now: datetime, poll_seconds: float) -> None:
    """Record that the worker ``name`` is alive at ``now``."""
    expires = now + timedelta(seconds=max(DEAD_AFTER_SECONDS, 3 * poll_seconds))
    with db.transaction() as session:
        row = session.get(WorkerBeat, name)
        if row is None:
            session.add(WorkerBeat(name=name, kind=KIND, beat_at=now, expires_at=expires))
        else:
            row.beat_at, row.expires_at = now, expires


def stopped(db: Database, name: str) -> None:
    with db.transaction() as session:
        session.execute(delete(WorkerBeat).where(WorkerBeat.name == name))


def workers_dead(db: Database, *, now: datetime) -> bool:
    """True when timer workers have run here but none has shown a sign of life in time."""
    with db.transaction(write=False) as session:
        latest = session.scalar(select(func.max(WorkerBeat.expires_at)).where(WorkerBeat.kind == KIND))
    return latest is not None and latest < now


def work(
    db: Database,
    *,
    poll_seconds: float,
    step_seconds: float = DEFAULT_STEP_SECONDS,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Fire due timers until ``stop`` is set, sleeping until the next due time (at most ``poll_seconds``).

    Nothing a run meets ends the loop: diagram code fails only its own instance (see
    ``run_due``), and any other error is logged and the run retried. The worker's heartbeat says
    it is alive; if the thread ends anyway, the heartbeat expires and readiness reports it."""
    stop = stop or threading.Event()
    name = worker_name()
    last_beat: list[datetime] = []  # when the last heartbeat was written

    def alive() -> None:
        now = clock()
        if not last_beat or abs((now - last_beat[0]).total_seconds()) >= BEAT_SECONDS:
            beat(db, name, now=now, poll_seconds=poll_seconds)
            last_beat[:] = [now]

    try:
        while not stop.is_set():
            try:
                now = clock()
                alive()
                run = run_due(db, now=now, step_seconds=step_seconds, alive=alive)
                if run.fired or run.failed:
                    log.info("timers fired=%s failed=%s", run.fired, run.failed)
                upcoming = next_due(db)
            except Exception as err:
                # The type only: a database error's message can quote case data.
                log.error("timer run failed (%s); retrying", type(err).__name__)
                upcoming = None
            wait = poll_seconds
            if upcoming is not None:
                wait = max(0.0, min(poll_seconds, (upcoming - clock()).total_seconds()))
            stop.wait(wait)
    finally:
        if stop.is_set():
            try:
                stopped(db, name)
            except Exception as err:  # the row expires by itself
                log.error("could not remove the timer worker's heartbeat (%s)", type(err).__name__)
