"""The database: a transaction is all or nothing, a lost server is a clear 'try again', and the
schema upgrade may be run again safely."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from cprflow.db.database import Database, DatabaseUnavailable, after_commit
from cprflow.db.models import User
from tests.conftest import T0


def user(name: str) -> User:
    return User(
        username=name, display_name=name, password_hash="x", roles=[], language="en", disabled=False,
        token_version=1, created_at=T0,
    )  # fmt: skip


def usernames(db: Database) -> list[str]:
    with db.transaction(write=False) as session:
        return list(session.scalars(text("SELECT username FROM users ORDER BY username")))


def test_an_error_inside_a_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.add(user("siân"))
        session.flush()
        raise RuntimeError("half way")
    assert usernames(db) == []
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add_all([user("twin"), user("twin")])
    assert usernames(db) == []
    with db.transaction() as session:
        session.add(user("siân"))
    assert usernames(db) == ["siân"]


def test_a_lost_connection_is_reported_as_unavailable(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(DatabaseUnavailable, match="try again shortly"), db.transaction() as session:
        monkeypatch.setattr(session, "execute", refuse)
        session.execute(text("SELECT 1"))


def test_other_database_errors_are_not_disguised(db: Database) -> None:
    with pytest.raises(OperationalError), db.transaction() as session:
        session.execute(text("SELECT * FROM no_such_table"))


def test_upgrade_makes_the_folder_and_may_run_again(tmp_path: Path) -> None:
    path = tmp_path / "new folder" / "cprflow.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
        database.upgrade()  # already at the newest migration: nothing to do, nothing lost
        assert path.exists() and usernames(database) == []
    finally:
        database.dispose()


def test_what_waits_for_a_commit_runs_after_it_and_never_after_a_rollback(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.add(user("rolled-back"))
        after_commit(session, lambda: ran.append("rolled back"))
        raise RuntimeError("a step failed")
    with db.transaction() as session:
        session.add(user("kept"))
        after_commit(session, lambda: ran.append(str(usernames(db))))  # sees the commit
        after_commit(session, lambda: 1 / 0)  # logged: the caller is not told a committed write failed
        after_commit(session, lambda: ran.append("and the next still runs"))
    assert ran == ["['kept']", "and the next still runs"]
    assert "an action after a commit failed" in caplog.text
