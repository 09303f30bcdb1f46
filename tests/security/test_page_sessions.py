"""Page sessions live on the server: signing out ends them (a cookie copied before /logout opens
nothing after it), and they end after an idle and an absolute timeout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from flask.testing import FlaskClient

from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.web import create_app
from tests.web.conftest import make_settings, password

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def sign_in(client: FlaskClient, username: str = "intake") -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": username, "password": password(username), "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 302


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/tasks")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(client: FlaskClient) -> None:
    sign_in(client)
    captured = client.get_cookie("session")
    assert captured is not None and signed_in(client)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/tasks").text)
    assert csrf
    client.post("/logout", data={"csrf_token": csrf.group(1)})
    assert not signed_in(client)
    thief = client.application.test_client()
    thief.set_cookie("session", captured.value)
    assert not signed_in(thief)


def test_signing_in_again_makes_a_new_session_not_the_old_one(client: FlaskClient) -> None:
    sign_in(client)
    first = client.get_cookie("session")
    sign_in(client)
    assert first is not None and client.get_cookie("session") != first
    assert signed_in(client)


def test_a_session_ends_after_an_idle_hour_and_after_eight_hours_however_busy(client: FlaskClient) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        for _ in range(9):  # a request every 55 minutes keeps it alive, up to eight hours
            traveller.shift(timedelta(minutes=55))
            if datetime.now(UTC) < START + timedelta(hours=8):
                assert signed_in(client)
        assert not signed_in(client)  # past eight hours: ended, however busy
        sign_in(client)
        traveller.shift(timedelta(minutes=60, seconds=1))
        assert not signed_in(client)  # an idle hour


def test_the_timeouts_are_settings(web_db: Database) -> None:
    assert (Settings().session_idle_minutes, Settings().session_hours) == (60.0, 8.0)
    client = create_app(make_settings(web_db.url, session_idle_minutes=5.0), db=web_db).test_client()
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        traveller.shift(timedelta(minutes=4))
        assert signed_in(client)
        traveller.shift(timedelta(minutes=5, seconds=1))
        assert not signed_in(client)


def test_ended_sessions_do_not_pile_up(client: FlaskClient, web_db: Database) -> None:
    from sqlalchemy import func, select

    from cprflow.db.models import PageSession

    for _ in range(3):
        sign_in(client)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/tasks").text)
        assert csrf
        client.post("/logout", data={"csrf_token": csrf.group(1)})
    sign_in(client)
    with web_db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PageSession)) == 1
