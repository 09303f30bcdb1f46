"""Sign-in throttling: five failures in a row lock an account for fifteen minutes, counted in the
database (so every worker sees the same count), answered with the same vague 401 while locked."""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text

from cprflow.config import Settings
from cprflow.core.errors import Unauthenticated
from cprflow.db import database
from cprflow.db.database import Database
from cprflow.db.models import User
from cprflow.services import users
from cprflow.web import create_app
from tests.web.conftest import make_settings, password

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WRONG = {"username": "intake", "password": "not-the-password"}
RIGHT = {"username": "intake", "password": password("intake")}
VAGUE = "wrong username or password"


def token(client: FlaskClient, credentials: dict[str, str]) -> int:
    response = client.post("/api/auth/token", json=credentials)
    if response.status_code == 401:
        assert response.get_json()["error"] == {"code": "unauthenticated", "message": VAGUE, "fields": {}}
    return response.status_code


def counters(db: Database, username: str = "intake") -> tuple[int, datetime | None]:
    with db.transaction(write=False) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user.failed_sign_ins, user.locked_until


def test_five_failures_lock_the_account_for_fifteen_minutes(client: FlaskClient, web_db: Database) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        for attempt in range(1, 5):
            assert token(client, WRONG) == 401
            assert counters(web_db) == (attempt, None)
        assert token(client, WRONG) == 401
        assert counters(web_db) == (5, START + timedelta(minutes=15))
        # Locked: the right password gets the very same answer as a wrong one.
        assert token(client, RIGHT) == 401
        traveller.shift(timedelta(minutes=14, seconds=59))
        assert token(client, RIGHT) == 401
        assert token(client, WRONG) == 401  # failures while locked do not extend the lock
        assert counters(web_db) == (5, START + timedelta(minutes=15))
        traveller.shift(timedelta(seconds=2))
        assert token(client, RIGHT) == 200
        assert counters(web_db) == (0, None)


def test_a_success_resets_the_count(client: FlaskClient, web_db: Database) -> None:
    for _ in range(4):
        assert token(client, WRONG) == 401
    assert token(client, RIGHT) == 200
    assert counters(web_db) == (0, None)
    for _ in range(4):
        assert token(client, WRONG) == 401
    assert token(client, RIGHT) == 200  # four and four: never five in a row


def test_after_a_lock_runs_out_the_count_starts_afresh(client: FlaskClient, web_db: Database) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            token(client, WRONG)
        traveller.shift(timedelta(minutes=16))
        assert token(client, WRONG) == 401
        assert counters(web_db) == (1, None)  # one failure after the lock is not a new lock
        assert token(client, RIGHT) == 200


def test_the_count_is_shared_by_every_worker(web_db: Database) -> None:
    """Two apps on one database stand for two web workers: failures on either add up."""
    first = create_app(make_settings(web_db.url), db=web_db).test_client()
    other = Database(web_db.url)
    try:
        second = create_app(make_settings(web_db.url), db=other).test_client()
        for client in (first, second, first, second, first):
            assert token(client, WRONG) == 401
        assert token(second, RIGHT) == 401
        assert token(first, RIGHT) == 401
    finally:
        other.dispose()


def test_other_accounts_are_not_locked(client: FlaskClient) -> None:
    for _ in range(5):
        token(client, WRONG)
    assert token(client, {"username": "clerk", "password": password("clerk")}) == 200


def test_unknown_accounts_answer_alike_and_store_nothing(client: FlaskClient, web_db: Database) -> None:
    before = [counters(web_db, u.username) for u in users.list_users(web_db)]
    for _ in range(6):
        assert token(client, {"username": "nobody", "password": "whatever-it-is"}) == 401
    assert [counters(web_db, u.username) for u in users.list_users(web_db)] == before


def test_the_lock_is_logged_but_not_revealed(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cprflow.services.users"):
        for _ in range(5):
            token(client, WRONG)
        assert token(client, RIGHT) == 401
    messages = [r.getMessage() for r in caplog.records if r.name == "cprflow.services.users"]
    assert any("'intake' locked for 15.0 minutes after 5 failed sign-ins" in m for m in messages), messages
    assert any("refused: account 'intake' is locked" in m for m in messages), messages
    assert not any(password("intake") in m or "not-the-password" in m for m in messages)


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, web_db: Database) -> None:
    monkeypatch.setenv("CPRFLOW_LOCKOUT_ATTEMPTS", "2")
    monkeypatch.setenv("CPRFLOW_LOCKOUT_MINUTES", "1")
    settings = Settings.from_env()
    assert (settings.lockout_attempts, settings.lockout_minutes) == (2, 1.0)
    assert (Settings().lockout_attempts, Settings().lockout_minutes) == (5, 15.0)
    client = create_app(make_settings(web_db.url, lockout_attempts=2, lockout_minutes=1.0), db=web_db).test_client()
    with time_machine.travel(START, tick=False) as traveller:
        token(client, WRONG)
        token(client, WRONG)
        assert counters(web_db) == (2, START + timedelta(minutes=1))
        assert token(client, RIGHT) == 401
        traveller.shift(timedelta(minutes=1, seconds=1))
        assert token(client, RIGHT) == 200


def test_no_lockout_when_attempts_is_zero(web_db: Database) -> None:
    client = create_app(make_settings(web_db.url, lockout_attempts=0), db=web_db).test_client()
    for _ in range(7):
        token(client, WRONG)
    assert token(client, RIGHT) == 200


# ---------------------------------------------------------------------------------------------
# The sign-in page counts and locks the same way


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in_page(client: FlaskClient, pw: str) -> int:
    form = {"username": "intake", "password": pw, "csrf_token": csrf(client.get("/login").text)}
    response = client.post("/login", data=form)
    if response.status_code == 401:
        assert "Wrong username or password." in response.text
        assert "lock" not in response.text.lower()
    return response.status_code


def test_the_sign_in_page_locks_alike(client: FlaskClient, web_db: Database) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(3):
            assert sign_in_page(client, "not-the-password") == 401
        for _ in range(2):  # the page and the API share the count
            assert token(client, WRONG) == 401
        assert counters(web_db) == (5, START + timedelta(minutes=15))
        assert sign_in_page(client, password("intake")) == 401
        assert client.get("/tasks").status_code == 302  # not signed in
        traveller.shift(timedelta(minutes=15, seconds=1))
        assert sign_in_page(client, password("intake")) == 302
        assert client.get("/tasks").status_code == 200
        assert counters(web_db) == (0, None)


# ---------------------------------------------------------------------------------------------
# The migration


def test_migration_0003_adds_the_counters_to_existing_accounts(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        config = Config()
        config.set_main_option("script_location", str(Path(database.__file__).parent / "migrations"))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, roles, agency, language, disabled, "
                    "token_version, created_at) "
                    "VALUES ('old', 'Old', NULL, '[]', NULL, 'en', 0, 1, '2026-01-01 00:00:00')"
                )
            )
        db.upgrade()
        columns = {c["name"] for c in inspect(db.engine).get_columns("users")}
        assert {"failed_sign_ins", "locked_until"} <= columns
        assert counters(db, "old") == (0, None)
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------
# Concurrent failures, on SQLite and on PostgreSQL: every one counts


def test_concurrent_failures_all_count(any_db: Database) -> None:
    users.add_user(any_db, "target", password="the right password", roles=["business_unit"], now=START)
    barrier = threading.Barrier(8)

    def fail() -> None:
        barrier.wait(10)
        with pytest.raises(Unauthenticated):
            users.authenticate(any_db, "target", "a wrong password", now=START)

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    failures, locked_until = counters(any_db, "target")
    assert failures >= 5  # none lost to a race; once locked, further attempts are refused uncounted
    assert locked_until == START + timedelta(minutes=15)
    with pytest.raises(Unauthenticated):
        users.authenticate(any_db, "target", "the right password", now=START + timedelta(minutes=1))
    later = START + timedelta(minutes=16)
    assert users.authenticate(any_db, "target", "the right password", now=later).username == "target"
    assert counters(any_db, "target") == (0, None)


def test_a_burst_of_wrong_passwords_is_not_all_checked_and_the_right_one_after_it_fails(
    any_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """15 wrong passwords at once, then the right one while they are still being checked: only the
    first five are checked at all, and the right one finds the account locked."""
    users.add_user(any_db, "target", password="the right password", roles=["business_unit"], now=START)
    real = users._hasher
    checking, release = threading.Semaphore(0), threading.Event()

    class SlowHasher:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            if password == "a wrong password":
                checking.release()
                release.wait(30)
            return real.verify(stored, password)

    monkeypatch.setattr(users, "_hasher", SlowHasher())
    users._dummy_hash()  # made before the burst, so the dummy check is not what is being waited on
    done = threading.Semaphore(0)

    def wrong() -> None:
        with pytest.raises(Unauthenticated):
            users.authenticate(any_db, "target", "a wrong password", now=START)
        done.release()

    threads = [threading.Thread(target=wrong) for _ in range(15)]
    for thread in threads:
        thread.start()
    # Wait until every one of the burst is either being checked or already answered.
    settled = 0
    while settled < 15:
        if checking.acquire(timeout=0.05) or done.acquire(timeout=0.05):
            settled += 1
    try:
        with pytest.raises(Unauthenticated):
            users.authenticate(any_db, "target", "the right password", now=START)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert counters(any_db, "target")[1] == START + timedelta(minutes=15)


def test_one_address_trying_many_usernames_is_stopped(web_db: Database) -> None:
    client = create_app(make_settings(web_db.url, address_attempts=10), db=web_db).test_client()
    attacker, colleague = {"REMOTE_ADDR": "203.0.113.9"}, {"REMOTE_ADDR": "198.51.100.7"}
    with time_machine.travel(START, tick=False) as traveller:
        for n in range(10):  # unknown usernames, and one real one under its own lock
            wrong = {"username": f"guess{n}" if n % 2 else "clerk", "password": "not-the-password"}
            assert client.post("/api/auth/token", json=wrong, environ_base=attacker).status_code == 401
        assert client.post("/api/auth/token", json=RIGHT, environ_base=attacker).status_code == 401
        assert client.post("/api/auth/token", json=RIGHT, environ_base=colleague).status_code == 200
        traveller.shift(timedelta(minutes=15, seconds=1))
        assert client.post("/api/auth/token", json=RIGHT, environ_base=attacker).status_code == 200
