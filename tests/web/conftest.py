"""Web fixtures: the app on a fresh SQLite copy of a database with the sample deployed and one user per role.

Hashing passwords (argon2) is slow, so the users are made once per session in a template database
that each test copies; tokens, asked for through ``POST /api/auth/token``, stay valid on every copy
(same secret, same user ids and token versions) and are kept for the session too.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import text

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.services import timers, users
from cprflow.web import create_app
from tests.conftest import T0, sample_diagrams

SECRET = "test-secret-" + "x" * 20

#: username -> (roles, agency). One user per role; a second intake clerk to claim what the first holds.
USERS: dict[str, tuple[list[str], str | None]] = {
    "intake": (["business_unit"], None),
    "clerk": (["business_unit"], None),
    "manager": (["review_subgroup"], None),
    "chair": (["board_chair"], None),
    "reviewer": (["reviewer"], None),
    "police": (["agency"], "police"),
    "health": (["agency"], "health"),
    "probation": (["agency"], "probation"),  # an agency given no task in any case
    "owner": (["process_owner"], None),
    "auditor": (["auditor"], None),
    "audit_clerk": (["auditor", "business_unit"], None),  # an auditor in a lane still changes nothing
    "admin": (["admin"], None),
}

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health"],
}
APPROVAL = {"manager_decision": "approved"}
CLOSURE = {"closed_on": "2026-03-20", "outcome": "closed"}


def password(username: str) -> str:
    return f"password-of-{username}"


def report(summary: str = "seen and supported") -> dict[str, Any]:
    return {"agency_report": {"recommendation": "support", "summary": summary}}


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cprflow.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    services.deploy(database, sample_diagrams(), actor="owner", now=T0)
    for username, (roles, agency) in USERS.items():
        users.add_user(database, username, password=password(username), roles=roles, agency=agency, now=T0)
    seal(database)
    return path


def seal(database: Database) -> None:
    """Fold the WAL into the file and close, so that copying the file copies everything."""
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()


def make_settings(url: str, **overrides: Any) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, **overrides)


@pytest.fixture
def db_template(template_db: Path) -> Path:
    """The file each test's database starts as; a module may override it with one holding cases."""
    return template_db


@pytest.fixture
def web_db(db_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh database: the template's file copied (sample deployed, users made)."""
    path = tmp_path / "cprflow.db"
    shutil.copyfile(db_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def app(web_db: Database) -> Flask:
    return create_app(make_settings(web_db.url), db=web_db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_tokens: dict[str, str] = {}


@pytest.fixture
def auth(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """``auth("police")`` -> Authorization headers, from ``POST /api/auth/token`` (kept for the session)."""

    def headers(username: str) -> dict[str, str]:
        if username not in _tokens:
            response = client.post("/api/auth/token", json={"username": username, "password": password(username)})
            assert response.status_code == 200, response.get_json()
            _tokens[username] = response.get_json()["token"]
        return {"Authorization": f"Bearer {_tokens[username]}"}

    return headers


# ---------------------------------------------------------------------------------------------
# Cases in known states, made through the services (fast, and not what these tests are about)


def started(db: Database, data: dict[str, Any] | None = None) -> services.InstanceView:
    return services.start_instance(db, "sample_case", data or {}, actor="intake", now=now())


def in_review(db: Database, data: dict[str, Any] | None = None) -> services.InstanceView:
    """Case recorded: agency_review for police and health, and manager_approval, open."""
    view = started(db, data)
    return services.complete_task(db, view.open_tasks[0].id, CASE, actor="intake", now=now())


def awaiting_closure(db: Database, data: dict[str, Any] | None = None) -> services.InstanceView:
    """Every review done and the hour waited: the case waits for the message ``case_closed``."""
    view = in_review(db, data)
    for task in view.open_tasks:
        data = APPROVAL if task.bpmn_id == "manager_approval" else report()
        services.complete_task(db, task.id, data, actor="x", now=now())
    timers.run_due(db, now=now() + timedelta(hours=2))
    view = services.get_instance(db, view.id)
    assert view.waiting_for == ["case_closed"]
    return view


def task_of(view: services.InstanceView, bpmn_id: str, assignee: str | None = None) -> services.TaskView:
    found = [t for t in view.open_tasks if t.bpmn_id == bpmn_id and (assignee is None or t.assignee == assignee)]
    assert len(found) == 1, [(t.bpmn_id, t.assignee) for t in view.open_tasks]
    return found[0]


def db_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that a request could change: to prove a refused request changed nothing."""
    with db.engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in ("instances", "user_tasks", "events", "process_versions", "users")
        }


# ---------------------------------------------------------------------------------------------
# The contract: responses checked against the served OpenAPI document

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _aware_datetime(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def json_schema(node: Any, keyword_level: bool = True) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12: component refs become $defs, ``nullable`` a null type."""
    if isinstance(node, list):
        return [json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    if not keyword_level:  # a mapping of names (properties, $defs) to schemas
        return {k: json_schema(v) for k, v in node.items()}
    out = {
        k: json_schema(v, k not in ("properties", "$defs", "patternProperties"))
        for k, v in node.items()
        if k != "nullable"
    }
    if isinstance(out.get("$ref"), str):
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def operation(document: dict[str, Any], app: Flask, method: str, url: str) -> tuple[str, dict[str, Any]]:
    """The documented operation a request reached: (documented path, operation object)."""
    rule, _ = app.url_map.bind("localhost").match(url.split("?")[0], method=method, return_rule=True)
    served = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
    base = (document.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    for candidate in (served.removeprefix(base), served.removeprefix("/api")):  # the second: see test_documented_paths
        if candidate in document["paths"]:
            return candidate, document["paths"][candidate][method.lower()]
    raise AssertionError(f"{method} {served} is not in the OpenAPI document")


def validate_response(document: dict[str, Any], app: Flask, response: Any) -> None:
    """The body fits the schema documented for its status (an undocumented success: the documented one)."""
    _, op = operation(document, app, response.request.method, response.request.path)
    responses = op["responses"]
    status = str(response.status_code)
    if status not in responses:
        ok = [s for s in responses if s.startswith("2")]
        status = ok[0] if response.status_code < 300 else ""
    schema = (
        responses[status]["content"]["application/json"]["schema"]
        if status
        else {"$ref": "#/components/schemas/ErrorResponse"}
    )
    full = {"$defs": json_schema(document["components"]["schemas"], False), **json_schema(schema)}
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(full, format_checker=_FORMATS).iter_errors(response.get_json())
    ]
    assert not errors, errors


_document: dict[str, Any] = {}


@pytest.fixture
def expect(app: Flask, client: FlaskClient) -> Callable[..., Any]:
    """``expect(response, 201)``: the status, and a body that fits the OpenAPI document; returns the JSON."""
    if not _document:
        _document.update(client.get("/api/openapi.json").get_json())

    def check(response: Any, status: int) -> Any:
        body = response.get_json(silent=True)
        assert response.status_code == status, (response.status_code, body)
        assert response.is_json, response.data[:200]
        validate_response(_document, app, response)
        if status >= 400:
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
        return body

    return check


@pytest.fixture
def call(client: FlaskClient, auth: Callable[[str], dict[str, str]], expect: Callable[..., Any]) -> Callable[..., Any]:
    """``call("POST", url, "intake", 201, json=...)``: the request as that user, checked by ``expect``."""

    def request(method: str, url: str, who: str | None, status: int, **options: Any) -> Any:
        headers = {**(auth(who) if who else {}), **options.pop("headers", {})}
        return expect(client.open(url, method=method, headers=headers, **options), status)

    return request
