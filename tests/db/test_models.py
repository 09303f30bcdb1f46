"""The tables: times stored and read back as aware UTC on every backend, naive ones refused, and
JSON columns keeping Welsh text, quotes and nesting as given."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from cprflow.db.database import Database
from cprflow.db.models import ACTIVE_STATUSES, ROLES, STATUSES, Event, User
from tests.conftest import T0


def user(name: str, created_at: datetime) -> User:
    return User(
        username=name, display_name=name, password_hash="x", roles=["reviewer"], language="cy", disabled=False,
        token_version=1, created_at=created_at,
    )  # fmt: skip


def test_times_come_back_as_the_same_moment_in_utc(any_db: Database) -> None:
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    with any_db.transaction() as session:
        session.add(user("siân", summer))
    with any_db.transaction(write=False) as session:
        stored = session.query(User).one().created_at
    assert stored == summer and stored.utcoffset() == timedelta(0) and stored.hour == 9


def test_a_naive_time_is_refused_and_nothing_is_stored(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime given to a UTC column"), db.transaction() as session:
        session.add(user("naive", datetime(2026, 3, 2, 9, 0)))
    with db.transaction(write=False) as session:
        assert session.query(User).count() == 0


def test_json_columns_keep_what_they_are_given(any_db: Database) -> None:
    detail = {"reason": 'Siân\'s "typo" – ŵ ŷ', "changes": {"agencies": {"before": [], "after": ["police"]}}, "n": 1.5}
    with any_db.transaction() as session:
        session.add(Event(instance_id=None, at=T0, kind="note", actor="admin", detail=detail, prev_hash="", hash="h"))
    with any_db.transaction(write=False) as session:
        assert session.query(Event).filter(Event.kind == "note").one().detail == detail


def test_the_status_and_role_vocabularies() -> None:
    assert set(ACTIVE_STATUSES) < set(STATUSES)
    assert len(set(ROLES)) == len(ROLES) and {"admin", "auditor", "agency", "process_owner"} <= set(ROLES)
