"""Signing in and out and choosing the language, as a person at the browser meets them."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.services import users
from tests.web.conftest import password, started


def token(client: FlaskClient, url: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert found, f"{url} has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str = "intake") -> None:
    data = {"username": username, "password": password(username), "csrf_token": token(client)}
    assert client.post("/login", data=data).status_code == 302


def test_home_sends_a_visitor_to_sign_in_and_a_signed_in_person_somewhere_useful(
    client: FlaskClient, web_db: Database
) -> None:
    assert client.get("/").headers["Location"] == "/login"
    sign_in(client)
    assert client.get("/").headers["Location"] == "/reviews"  # no task yet: the register
    started(web_db)  # a case whose first task is the intake clerk's
    assert client.get("/").headers["Location"] == "/tasks"
    other = client.application.test_client()
    sign_in(other, "owner")  # a process owner, who reads no case, starts at the process design
    assert other.get("/").headers["Location"] == "/modeler/"


def test_signing_out_ends_the_session(client: FlaskClient) -> None:
    sign_in(client)
    assert client.get("/tasks").status_code == 200
    response = client.post("/logout", data={"csrf_token": token(client, "/tasks")})
    assert response.headers["Location"] == "/login"
    assert client.get("/tasks").headers["Location"].startswith("/login")


def test_signing_out_needs_the_csrf_token(client: FlaskClient) -> None:
    sign_in(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/tasks").status_code == 200  # still signed in


def test_a_disabled_account_cannot_sign_in_and_its_open_session_ends(client: FlaskClient, web_db: Database) -> None:
    sign_in(client)
    users.set_disabled(web_db, "intake")
    assert client.get("/tasks").headers["Location"].startswith("/login")
    data = {"username": "intake", "password": password("intake"), "csrf_token": token(client)}
    response = client.post("/login", data=data)
    assert response.status_code == 401 and "Wrong username or password." in response.text


def test_the_language_chosen_is_kept_for_the_person(client: FlaskClient, web_db: Database) -> None:
    sign_in(client)
    client.post("/language", data={"language": "cy", "next": "/tasks", "csrf_token": token(client, "/tasks")})
    assert '<html lang="cy"' in client.get("/tasks").text
    assert next(u for u in users.list_users(web_db) if u.username == "intake").language == "cy"
    client.post("/language", data={"language": "xx", "csrf_token": token(client, "/tasks")})  # unknown: ignored
    assert next(u for u in users.list_users(web_db) if u.username == "intake").language == "cy"


def test_a_visitor_may_choose_welsh_before_signing_in(client: FlaskClient) -> None:
    client.post("/language", data={"language": "cy", "next": "/login", "csrf_token": token(client)})
    assert '<html lang="cy"' in client.get("/login").text
