"""Page sessions kept on the server: the cookie carries only a random token, whose SHA-256 names a
row here. Signing out ends the row, so a cookie captured before /logout no longer opens anything;
a session also ends after ``idle_minutes`` without a request and ``hours`` after sign-in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from cprflow.db.database import Database
from cprflow.db.models import PageSession

#: A session's last-seen time is written at most this often, so reading pages is not a write each time.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class Timeouts:
    idle_minutes: float = 60.0
    hours: float = 8.0


DEFAULT = Timeouts()


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Database, user_id: int, *, now: datetime, timeouts: Timeouts = DEFAULT) -> str:
    """A new session for the account; the token to put in the cookie (only its hash is stored).
    The account's sessions that have ended or run out are removed on the way."""
    token = secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.execute(
            delete(PageSession).where(
                PageSession.user_id == user_id,
                (PageSession.ended_at.is_not(None))
                | (PageSession.created_at <= now - timedelta(hours=timeouts.hours))
                | (PageSession.last_seen_at <= now - timedelta(minutes=timeouts.idle_minutes)),
            )
        )
        session.add(PageSession(id=_key(token), user_id=user_id, created_at=now, last_seen_at=now, ended_at=None))
    return token


def resume(db: Database, token: object, *, now: datetime, timeouts: Timeouts) -> int | None:
    """The account of a live session, noting it was seen; None if it was ended, timed out or never was."""
    if not isinstance(token, str) or not token:
        return None
    key = _key(token)
    with db.transaction(write=False) as session:
        row = session.get(PageSession, key)
        if row is None or row.ended_at is not None:
            return None
        user_id, created_at, last_seen_at = row.user_id, row.created_at, row.last_seen_at
    if now >= created_at + timedelta(hours=timeouts.hours) or now >= last_seen_at + timedelta(
        minutes=timeouts.idle_minutes
    ):
        end(db, token, now=now)
        return None
    if now >= last_seen_at + timedelta(seconds=TOUCH_SECONDS):
        with db.transaction() as session:
            session.execute(
                update(PageSession)
                .where(PageSession.id == key, PageSession.ended_at.is_(None))
                .values(last_seen_at=now)
            )
    return user_id


def end(db: Database, token: object, *, now: datetime) -> None:
    """Sign-out: the session stops working everywhere its cookie may have been copied."""
    if not isinstance(token, str) or not token:
        return
    with db.transaction() as session:
        session.execute(
            update(PageSession)
            .where(PageSession.id == _key(token), PageSession.ended_at.is_(None))
            .values(ended_at=now)
        )
