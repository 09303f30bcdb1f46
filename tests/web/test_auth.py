"""Who is calling: every secured endpoint needs a valid, current bearer token, and never the cookie."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from cprflow.web import create_app, openapi
from tests.web.api.helpers import Call, error_of, fresh_token
from tests.web.conftest import SECRET, db_state, in_review, make_settings, password


def _secured() -> list[tuple[str, str]]:
    """Every operation that needs a token, as (method, URL) with ids filled in."""
    return [
        (op.method, "/api" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "t" if m[1] == "task_id" else "1", op.rule))
        for op in openapi.OPERATIONS
        if op.auth
    ]


@pytest.mark.parametrize(("method", "url"), _secured())
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic aW50YWtlOnB3",
        "Bearer",
        "Bearer not-a-token",
        "Bearer "
        + URLSafeTimedSerializer("another-secret-" + "y" * 20, salt="cprflow-api-token").dumps({"u": 1, "v": 1}),
    ],
)
def test_every_secured_endpoint_needs_a_valid_token(
    call: Call,
    web_db: Database,
    method: str,
    url: str,
    authorization: str | None,
) -> None:
    in_review(web_db)  # instance 1 exists, so a 401 is not a 404 in disguise
    before = db_state(web_db)
    headers = {"Authorization": authorization} if authorization else {}
    body = call(method, url, None, 401, headers=headers, json={})
    assert error_of(body)["code"] == "unauthenticated"
    assert db_state(web_db) == before


def test_the_api_ignores_the_session_cookie(client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["uid"], session["tv"] = 1, 1
    response = client.get("/api/instances")
    assert response.status_code == 401
    assert error_of(response.get_json())["code"] == "unauthenticated"


def test_pages_ignore_a_bearer_token(client: FlaskClient, auth: Callable[[str], dict[str, str]]) -> None:
    """A page reads only the session cookie: a token that works on the API signs no one in to pages."""
    headers = auth("intake")
    assert client.get("/api/tasks", headers=headers).status_code == 200
    response = client.get("/tasks", headers=headers)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_tampered_token(call: Call, auth: Callable[[str], dict[str, str]]) -> None:
    token = auth("admin")["Authorization"].removeprefix("Bearer ")
    payload, stamp, signature = token.rsplit(".", 2)
    forged_payload = URLSafeTimedSerializer("x", salt="y").dumps({"u": 1, "v": 1}).split(".")[0]
    for forged in (
        f"{payload}.{stamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        f"{forged_payload}.{stamp}.{signature}",
    ):
        body = call("GET", "/api/instances", None, 401, headers={"Authorization": f"Bearer {forged}"})
        assert error_of(body)["message"] == "the token is not valid"


@pytest.mark.parametrize("claims", [{"u": "1", "v": 1}, {"u": 99999, "v": 1}, "just a string", {"v": 1}, {"u": 1}])
def test_signed_token_without_a_valid_user(call: Call, claims: Any) -> None:
    token = URLSafeTimedSerializer(SECRET, salt="cprflow-api-token").dumps(claims)
    call("GET", "/api/instances", None, 401, headers={"Authorization": f"Bearer {token}"})


def test_token_expires_after_token_hours(web_db: Database) -> None:
    client = create_app(make_settings(web_db.url, token_hours=1.0), db=web_db).test_client()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        issued = client.post("/api/auth/token", json={"username": "intake", "password": password("intake")}).get_json()
        assert datetime.fromisoformat(issued["expires_at"]) == start + timedelta(hours=1)
        headers = {"Authorization": f"Bearer {issued['token']}"}
        traveller.shift(timedelta(minutes=59))
        assert client.get("/api/processes", headers=headers).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = client.get("/api/processes", headers=headers)
    assert response.status_code == 401
    assert "expired" in error_of(response.get_json())["message"]


@pytest.mark.parametrize(
    "revoke",
    [
        lambda db: users.set_password(db, "intake", "a-brand-new-password"),
        lambda db: users.set_disabled(db, "intake"),
        lambda db: users.set_roles(db, "intake", ["business_unit", "reviewer"]),
    ],
    ids=["set_password", "set_disabled", "set_roles"],
)
def test_revoked_token(call: Call, client: FlaskClient, web_db: Database, revoke: Callable[[Database], Any]) -> None:
    token = fresh_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    call("GET", "/api/instances", None, 200, headers=headers)
    revoke(web_db)
    body = call("GET", "/api/instances", None, 401, headers=headers)
    assert error_of(body)["code"] == "unauthenticated"


def test_a_token_revoked_by_another_worker_is_refused_within_the_recheck_bound(
    call: Call, client: FlaskClient, web_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker (here: the database changed behind this one's back) disables the account: this
    worker goes on trusting what it read for at most ``ACCOUNT_RECHECK_SECONDS``, then refuses."""
    clock = [1000.0]
    monkeypatch.setattr(users, "_clock", lambda: clock[0])
    headers = {"Authorization": f"Bearer {fresh_token(client)}"}
    call("GET", "/api/instances", None, 200, headers=headers)
    with web_db.engine.begin() as c:
        c.execute(
            text("UPDATE users SET disabled = :yes, token_version = token_version + 1 WHERE username = 'intake'"),
            {"yes": True},
        )
    clock[0] += users.ACCOUNT_RECHECK_SECONDS - 0.5
    call("GET", "/api/instances", None, 200, headers=headers)  # still within the bound: not yet reread
    clock[0] += 0.5
    body = call("GET", "/api/instances", None, 401, headers=headers)
    assert error_of(body)["code"] == "unauthenticated"


def test_new_password_gives_a_working_token(call: Call, web_db: Database) -> None:
    users.set_password(web_db, "intake", "a-brand-new-password")
    call("POST", "/api/auth/token", None, 401, json={"username": "intake", "password": password("intake")})
    credentials = {"username": "intake", "password": "a-brand-new-password"}
    token = call("POST", "/api/auth/token", None, 200, json=credentials)["token"]
    call("GET", "/api/instances", None, 200, headers={"Authorization": f"Bearer {token}"})
