"""Transport and browser hardening: headers on every answer, cookie flags, secrets from the
environment only, and no stack trace or case data in an error's answer or in the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.web import create_app
from tests.web.conftest import in_review, make_settings, password

CHILD = "Sam Example-Child"
BIRTH = "2019-04-01"
GENERIC = {"error": {"code": "internal_error", "message": "something went wrong; it has been logged", "fields": {}}}


# ---------------------------------------------------------------------------------------------
# Headers on API answers (tests/web/test_pages.py covers the sign-in page)


@pytest.mark.parametrize(
    ("method", "url", "who", "status"),
    [
        ("GET", "/api/processes", "intake", 200),
        ("GET", "/api/instances", None, 401),
        ("GET", "/api/instances/999", "manager", 404),
        ("POST", "/api/instances", "intake", 400),
        ("GET", "/api/openapi.json", None, 200),
        ("GET", "/api/docs", None, 200),
        ("GET", "/api/no-such-thing", None, 404),
        ("GET", "/static/cprflow.css", None, 200),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    method: str,
    url: str,
    who: str | None,
    status: int,
) -> None:
    response = client.open(url, method=method, headers=auth(who) if who else {})
    assert response.status_code == status
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "Set-Cookie" not in response.headers or url.startswith("/static")  # the API never sets a cookie
    response.close()


# ---------------------------------------------------------------------------------------------
# Cookies


def sign_in(client: FlaskClient) -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": "intake", "password": password("intake"), "csrf_token": token})
    assert response.status_code == 302
    return response.headers["Set-Cookie"]


def test_the_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    cookie = sign_in(client)
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development


def test_behind_https_the_session_cookie_is_secure(web_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPRFLOW_SECURE_COOKIES", "1")
    assert Settings.from_env().secure_cookies is True
    client = create_app(make_settings(web_db.url, secure_cookies=True), db=web_db).test_client()
    cookie = sign_in(client)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ---------------------------------------------------------------------------------------------
# Secrets and limits come from the environment


def test_the_app_refuses_to_start_without_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPRFLOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("CPRFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(RuntimeError, match="CPRFLOW_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("CPRFLOW_SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="CPRFLOW_SECRET_KEY"):
        create_app()
    with pytest.raises(RuntimeError, match="CPRFLOW_SECRET_KEY"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))


def test_the_secret_key_and_the_request_limit_come_from_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPRFLOW_SECRET_KEY", "from-the-environment-" + "z" * 20)
    monkeypatch.setenv("CPRFLOW_MAX_REQUEST_BYTES", "2048")
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        app = create_app(db=db)
        assert app.config["SECRET_KEY"] == "from-the-environment-" + "z" * 20
        assert app.config["MAX_CONTENT_LENGTH"] == 2048
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------
# An unexpected failure: a generic answer, and a log that locates it without quoting case data


def _boom(*_: object, **__: object) -> None:
    try:
        raise KeyError(f"child_name={CHILD}")
    except KeyError as inner:
        raise RuntimeError(f"could not load the case of {CHILD}, born {BIRTH}") from inner


def _assert_the_log_locates_but_does_not_quote(caplog: pytest.LogCaptureFixture) -> None:
    records = [r for r in caplog.records if r.name == "cprflow.web.errors"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "RuntimeError" in message and "KeyError" in message  # what failed, causes included
    assert "_boom" in message  # and where
    assert CHILD not in caplog.text and BIRTH not in caplog.text  # formatted output included
    assert records[0].exc_info is None  # nothing for a handler to format the messages from


def test_an_unexpected_api_failure_answers_generically_and_logs_no_case_data(
    app: Flask,
    client: FlaskClient,
    web_db: Database,
    auth: Callable[[str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = in_review(web_db, {"child_name": CHILD})
    headers = auth("manager")
    monkeypatch.setattr(services, "get_instance", _boom)
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/api/instances/{view.id}", headers=headers)
    assert response.status_code == 500
    assert response.get_json() == GENERIC
    body = response.get_data(as_text=True)
    assert CHILD not in body and BIRTH not in body and "Traceback" not in body
    _assert_the_log_locates_but_does_not_quote(caplog)


def test_an_unexpected_page_failure_answers_generically_and_logs_no_case_data(
    client: FlaskClient,
    web_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = in_review(web_db, {"child_name": CHILD})
    sign_in(client)
    monkeypatch.setattr(services, "get_instance", _boom)
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/reviews/{view.id}")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "something went wrong" in page
    assert CHILD not in page and BIRTH not in page and "Traceback" not in page
    _assert_the_log_locates_but_does_not_quote(caplog)
