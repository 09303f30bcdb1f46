"""Asking for an API token: ``POST /api/auth/token``, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from tests.web.api.helpers import Call, error_of, fresh_token
from tests.web.conftest import now, password


def test_token(call: Call) -> None:
    body = call("POST", "/api/auth/token", None, 200, json={"username": "intake", "password": password("intake")})
    assert body["token"]
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (now() + timedelta(hours=8))) < timedelta(minutes=1)
    call("GET", "/api/processes", None, 200, headers={"Authorization": f"Bearer {body['token']}"})


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "intake", "password": "not-the-password"},
        {"username": "nobody", "password": "whatever-it-is"},
    ],
)
def test_token_refused(call: Call, credentials: dict[str, str]) -> None:
    body = call("POST", "/api/auth/token", None, 401, json=credentials)
    assert error_of(body)["code"] == "unauthenticated"
    assert error_of(body)["message"] == "wrong username or password"  # the same, whichever was wrong


def test_token_refused_to_a_disabled_account(call: Call, web_db: Database) -> None:
    users.set_disabled(web_db, "intake")
    call("POST", "/api/auth/token", None, 401, json={"username": "intake", "password": password("intake")})


@pytest.mark.parametrize(
    ("options", "status", "pointer"),
    [
        ({"json": ["intake", "pw"]}, 400, None),
        ({"data": "{not json", "content_type": "application/json"}, 400, None),
        ({"data": "username=intake", "content_type": "application/x-www-form-urlencoded"}, 400, None),
        ({"json": {"username": "intake"}}, 422, "/password"),
        ({"json": {"username": 5, "password": "password-of-intake"}}, 422, "/username"),
        ({"json": {"username": "intake", "password": password("intake"), "remember": True}}, 422, "/remember"),
    ],
)
def test_token_bad_requests(call: Call, options: dict[str, Any], status: int, pointer: str | None) -> None:
    body = call("POST", "/api/auth/token", None, status, **options)
    assert list(error_of(body)["fields"]) == ([pointer] if pointer else [])


def test_default_token_lifetime_is_eight_hours(client: FlaskClient) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        token = fresh_token(client)
        headers = {"Authorization": f"Bearer {token}"}
        traveller.shift(timedelta(hours=7, minutes=59))
        assert client.get("/api/processes", headers=headers).status_code == 200
        traveller.shift(timedelta(minutes=2))
        assert client.get("/api/processes", headers=headers).status_code == 401
