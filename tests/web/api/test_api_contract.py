"""The JSON API's contract: each endpoint's success and documented errors, bodies checked against /api/openapi.json."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from cprflow import services
from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from cprflow.web import create_app, openapi, schemas
from tests.conftest import SAMPLE
from tests.web.conftest import (
    APPROVAL,
    CASE,
    CLOSURE,
    SECRET,
    awaiting_closure,
    db_state,
    in_review,
    make_settings,
    now,
    password,
    report,
    started,
    task_of,
)

Call = Callable[..., Any]
TRIAGE = (SAMPLE / "processes" / "triage.dmn").read_bytes()
CHANGED_TRIAGE = TRIAGE.replace(b"<description>High risk score</description>", b"<description>Very high</description>")
XXE_TRIAGE = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + TRIAGE.split(
    b"?>", 1
)[1].replace(b"High risk score", b"&xxe;")


def kinds(db: Database, instance_id: int) -> list[str]:
    return [e.kind for e in services.list_events(db, instance_id)]


def upload(*files: tuple[bytes, str]) -> dict[str, Any]:
    return {
        "data": {"files": [(io.BytesIO(content), name) for content, name in files]},
        "content_type": "multipart/form-data",
    }


def fresh_token(client: FlaskClient, username: str = "intake") -> str:
    """A token issued now (not the session's kept one)."""
    response = client.post("/api/auth/token", json={"username": username, "password": password(username)})
    assert response.status_code == 200
    return str(response.get_json()["token"])


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["error"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Health, readiness, the document and its page


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert not schemas.Health().validate(response.get_json())
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_readyz_when_ready(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_without_diagrams(tmp_path: Path) -> None:
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    empty.upgrade()
    try:
        response = create_app(make_settings(empty.url), db=empty).test_client().get("/readyz")
    finally:
        empty.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "no diagrams deployed"}
    assert not schemas.Health().validate(response.get_json())


def test_readyz_without_a_database(tmp_path: Path) -> None:
    broken = Database(f"sqlite:///{tmp_path}")  # a directory: no database can be opened there
    try:
        response = create_app(make_settings(broken.url), db=broken).test_client().get("/readyz")
    finally:
        broken.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database not reachable"}


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "ErrorResponse" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert any(s.startswith("2") for s in responses), (method, path)
            if path.endswith("/auth/token"):
                assert "security" not in op
            else:
                assert op["security"] == [{"bearer": []}] and "401" in responses, (method, path)
            for status, described in responses.items():
                if status >= "400":
                    schema = described["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)


def test_documented_paths_are_the_served_urls(app: Flask, client: FlaskClient) -> None:
    """A client joining the server's base URL to a documented path must reach that operation, and each
    operation served under /api must be documented."""
    document = client.get("/api/openapi.json").get_json()
    base = (document.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    adapter = app.url_map.bind("localhost")
    documented, unserved = set(), []
    for path, operations in document["paths"].items():
        for method in operations:
            url = base + path.replace("{instance_id}", "1").replace("{task_id}", "t").replace(
                "{version_id}", "1"
            ).replace("{document_id}", "1")
            try:
                endpoint, _ = adapter.match(url, method=method.upper())
            except HTTPException:
                endpoint = None
            if endpoint is None or not endpoint.startswith("api."):
                unserved.append(f"{method.upper()} {url}")
                continue
            documented.add(endpoint)
    assert unserved == [], f"documented but not served: {unserved}"
    assert documented == {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}


#: Statuses the API is known to answer with; each must be in the document for its operation.
RETURNED = [
    ("post", "/processes/deploy", "200"),  # the same set again: unchanged
    *[
        ("post", path, "400")
        for path in (
            "/instances",
            "/instances/{instance_id}/messages",
            "/instances/{instance_id}/suspend",
            "/instances/{instance_id}/resume",
            "/instances/{instance_id}/terminate",
            "/tasks/{task_id}/draft",
            "/tasks/{task_id}/complete",
        )
    ],  # a body that is not a JSON object
]


@pytest.mark.parametrize(("method", "path", "status"), RETURNED)
def test_returned_statuses_are_documented(client: FlaskClient, method: str, path: str, status: str) -> None:
    document = client.get("/api/openapi.json").get_json()
    base = (document.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    paths = document["paths"]
    operations = paths.get(base + path) or paths.get(path) or paths.get("/api" + path)
    assert operations is not None, path
    responses = operations[method]["responses"]
    assert status in responses, f"{method.upper()} {path} returns {status} but does not document it"


def test_the_contract_check_is_not_vacuous(
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    expect: Callable[..., Any],
) -> None:
    response = client.get("/api/processes", headers=auth("intake"))
    expect(response, 200)
    for wrong in (
        {"version_id": "one", "processes": []},
        {"processes": []},
        {"version_id": 1, "processes": [{"id": 1}]},
        {"version_id": 1, "processes": [], "extra": True},
    ):
        response.set_data(json.dumps(wrong))
        with pytest.raises(AssertionError):
            expect(response, 200)
    response.set_data(json.dumps({"version_id": None, "processes": []}))  # nullable in the document
    expect(response, 200)


def test_docs_page(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    document = client.get("/api/openapi.json").get_json()
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page
    assert "<script" not in page.lower()
    assert "/api/openapi.json" in page


def test_unknown_url_has_the_error_shape(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert set(error_of(response.get_json())) == {"code", "message", "fields"}


# ---------------------------------------------------------------------------------------------
# Tokens and the 401s


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


def test_default_token_lifetime_is_eight_hours(client: FlaskClient) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        token = fresh_token(client)
        headers = {"Authorization": f"Bearer {token}"}
        traveller.shift(timedelta(hours=7, minutes=59))
        assert client.get("/api/processes", headers=headers).status_code == 200
        traveller.shift(timedelta(minutes=2))
        assert client.get("/api/processes", headers=headers).status_code == 401


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


def test_new_password_gives_a_working_token(call: Call, web_db: Database) -> None:
    users.set_password(web_db, "intake", "a-brand-new-password")
    call("POST", "/api/auth/token", None, 401, json={"username": "intake", "password": password("intake")})
    credentials = {"username": "intake", "password": "a-brand-new-password"}
    token = call("POST", "/api/auth/token", None, 200, json=credentials)["token"]
    call("GET", "/api/instances", None, 200, headers={"Authorization": f"Bearer {token}"})


# ---------------------------------------------------------------------------------------------
# Processes and deploys


def test_list_processes(call: Call) -> None:
    body = call("GET", "/api/processes", "reviewer", 200)
    assert body["version_id"] == 1
    assert {p["id"] for p in body["processes"]} == {"sample_case", "sample_followup"}


def test_deploy_a_changed_decision_table(call: Call, web_db: Database) -> None:
    running = in_review(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 201, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert body["created"] is True
    assert body["version_id"] == 2
    assert {p["id"] for p in body["processes"]} == {"sample_case", "sample_followup"}
    assert body["content_hash"] != services.list_versions(web_db)[1]["content_hash"]
    assert services.newest_files(web_db)["processes/triage.dmn"] == CHANGED_TRIAGE
    assert call("GET", "/api/processes", "owner", 200)["version_id"] == 2
    # New cases start on the new version; running ones stay on theirs.
    assert call("POST", "/api/instances", "intake", 201, json={"process": "sample_case"})["version_id"] == 2
    assert services.get_instance(web_db, running.id).version_id == 1

    again = call("POST", "/api/processes/deploy", "owner", 200, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert again == {**body, "created": False}
    assert len(services.list_versions(web_db)) == 2


def test_deploy_keeps_the_note_of_why(call: Call, web_db: Database) -> None:
    files = upload((CHANGED_TRIAGE, "triage.dmn"))
    files["data"]["note"] = "  Raise the triage threshold, agreed at the Sub-Group on 3 December  "
    body = call("POST", "/api/processes/deploy", "owner", 201, **files)
    newest = services.list_versions(web_db)[0]
    assert newest["id"] == body["version_id"]
    assert newest["note"] == "Raise the triage threshold, agreed at the Sub-Group on 3 December"


def test_deploy_refuses_a_note_too_long_and_deploys_nothing(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    files = upload((CHANGED_TRIAGE, "triage.dmn"))
    files["data"]["note"] = "x" * 2001
    body = call("POST", "/api/processes/deploy", "owner", 422, **files)
    assert list(error_of(body)["fields"]) == ["/note"]
    assert db_state(web_db) == before


def test_deploy_the_same_set_changes_nothing(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 200, **upload((TRIAGE, "triage.dmn")))
    assert body["created"] is False and body["version_id"] == 1
    assert db_state(web_db) == before


def test_deploy_refuses_external_entities(call: Call, web_db: Database) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 422, **upload((XXE_TRIAGE, "triage.dmn")))
    assert error_of(body)["code"] == "deploy_refused"
    assert any("triage.dmn" in name for name in error_of(body)["fields"]), error_of(body)["fields"]
    assert "root:" not in str(body)
    assert db_state(web_db) == before


@pytest.mark.parametrize("name", ["notes.txt", "../../etc/passwd", ".hidden.bpmn"])
def test_deploy_refuses_unusable_file_names(call: Call, web_db: Database, name: str) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", "owner", 422, **upload((b"<x/>", name)))
    assert list(error_of(body)["fields"]) == ["/files"]
    assert db_state(web_db) == before


def test_deploy_without_files(call: Call) -> None:
    call("POST", "/api/processes/deploy", "owner", 400, data={}, content_type="multipart/form-data")


@pytest.mark.parametrize("who", ["intake", "manager", "auditor", "admin", "police"])
def test_deploy_needs_a_process_owner(call: Call, web_db: Database, who: str) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/processes/deploy", who, 403, **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert error_of(body)["code"] == "forbidden"
    assert db_state(web_db) == before


def test_oversized_bodies(web_db: Database, expect: Callable[..., Any], auth: Callable[[str], dict[str, str]]) -> None:
    small = create_app(make_settings(web_db.url, max_request_bytes=1024), db=web_db).test_client()
    before = db_state(web_db)
    response = small.post("/api/processes/deploy", headers=auth("owner"), **upload((CHANGED_TRIAGE, "triage.dmn")))
    assert response.status_code == 413
    assert set(error_of(response.get_json())) == {"code", "message", "fields"}
    response = small.post(
        "/api/instances", headers=auth("intake"), json={"process": "sample_case", "data": {"note": "x" * 2000}}
    )
    assert response.status_code == 413
    assert set(error_of(response.get_json())) == {"code", "message", "fields"}
    assert db_state(web_db) == before
    assert small.post("/api/instances", headers=auth("intake"), json={"process": "sample_case"}).status_code == 201


# ---------------------------------------------------------------------------------------------
# Instances


def test_start(call: Call, web_db: Database) -> None:
    body = call("POST", "/api/instances", "intake", 201, json={"process": "sample_case", "data": {"source": "phone"}})
    assert body["status"] == "running"
    assert body["process_id"] == "sample_case"
    assert body["data"] == {"source": "phone"}
    (task,) = body["open_tasks"]
    assert (task["bpmn_id"], task["lane"], task["form"]) == ("record_case", "Intake", "record_case.schema.json")
    assert kinds(web_db, body["id"]) == ["started"]


@pytest.mark.parametrize(
    ("who", "process", "status"),
    [
        ("manager", "sample_case", 403),
        ("auditor", "sample_case", 403),
        ("admin", "sample_case", 403),
        ("police", "sample_case", 403),
        ("intake", "no_such_process", 404),
    ],
)
def test_start_refused(call: Call, web_db: Database, who: str, process: str, status: int) -> None:
    before = db_state(web_db)
    call("POST", "/api/instances", who, status, json={"process": process})
    assert db_state(web_db) == before


@pytest.mark.parametrize(
    ("options", "status", "pointers"),
    [
        ({"json": []}, 400, []),
        ({"data": "process=sample_case", "content_type": "application/x-www-form-urlencoded"}, 400, []),
        ({"json": {}}, 422, ["/process"]),
        ({"json": {"process": "sample_case", "colour": "red"}}, 422, ["/colour"]),
        ({"json": {"process": 7}}, 422, ["/process"]),
        ({"json": {"process": "sample_case", "data": ["a"]}}, 422, ["/data"]),
        ({"json": {"process": "sample_case", "data": {"typename": "Task"}}}, 422, ["/data/typename"]),
        ({"json": {"process": "sample_case", "data": {"a": [{"typename": "x"}]}}}, 422, ["/data/a/0/typename"]),
    ],
)
def test_start_bad_requests(
    call: Call,
    web_db: Database,
    options: dict[str, Any],
    status: int,
    pointers: list[str],
) -> None:
    before = db_state(web_db)
    body = call("POST", "/api/instances", "intake", status, **options)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_list_instances(call: Call, web_db: Database) -> None:
    first, second = in_review(web_db), started(web_db)
    body = call("GET", "/api/instances", "manager", 200)
    assert [i["id"] for i in body["instances"]] == [second.id, first.id]  # newest first
    assert body["total"] == 2 and body["page"] == 1
    assert set(body["instances"][0]) == {"id", "process_id", "version_id", "status", "stage", "updated_at"}
    assert call("GET", "/api/instances?status=waiting", "manager", 200)["total"] == 0
    assert call("GET", "/api/instances?process=sample_case&status=running", "manager", 200)["total"] == 2
    assert call("GET", "/api/instances?page=2", "manager", 200) == {"instances": [], "total": 2, "page": 2}
    assert call("GET", "/api/instances", "probation", 200) == {"instances": [], "total": 0, "page": 1}
    # An agency given a task in a case reads that case, and only the facts its task shows.
    held = call("GET", "/api/instances", "police", 200)
    assert (held["total"], [i["id"] for i in held["instances"]]) == (1, [first.id])


def test_a_task_holder_reads_the_facts_of_their_task_and_their_own_tasks(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}", "police", 200)
    assert set(body["data"]) <= {"stage"}  # where the case stands; what the task decides on is on its form
    assert [(t["bpmn_id"], t["assignee"]) for t in body["open_tasks"]] == [("agency_review", "police")]
    call("GET", f"/api/instances/{view.id}/events", "police", 404)  # every event: readers of the whole case only


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("status=sleeping", "/status"),
        ("page=0", "/page"),
        ("page=x", "/page"),
        ("sort=id", "/sort"),
    ],
)
def test_list_instances_bad_query(call: Call, query: str, pointer: str) -> None:
    body = call("GET", f"/api/instances?{query}", "manager", 422)
    assert list(error_of(body)["fields"]) == [pointer]


def test_get_instance_records_the_read(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}", "manager", 200)
    assert body["data"]["priority"] == "urgent"
    assert body["status"] == "running"
    assert sorted(t["bpmn_id"] for t in body["open_tasks"]) == ["agency_review", "agency_review", "manager_approval"]
    last = services.list_events(web_db, view.id)[-1]
    assert (last.kind, last.actor, last.detail) == ("case_read", "manager", {"what": "instance"})


def test_unreadable_instance_looks_like_a_missing_one(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    missing = call("GET", "/api/instances/999", "probation", 404)
    hidden = call("GET", f"/api/instances/{view.id}", "probation", 404)
    assert error_of(hidden) == {**error_of(missing), "message": f"instance {view.id} not found"}
    assert error_of(missing)["message"] == "instance 999 not found"
    for url in (f"/api/instances/{view.id}/events", "/api/instances/999/events"):
        call("GET", url, "probation", 404)
    assert "case_read" not in kinds(web_db, view.id)


def test_events(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    body = call("GET", f"/api/instances/{view.id}/events", "auditor", 200)
    assert [e["kind"] for e in body["events"]] == ["started", "task_completed"]
    assert body["page"] == 1
    recorded = body["events"][1]["detail"]["data"]  # what was submitted, and what the system knew
    assert {k: v for k, v in recorded.items() if not k.startswith("completed_")} == CASE
    assert (recorded["completed_by"], recorded["completed_by_agency"]) == ("intake", None)
    again = call("GET", f"/api/instances/{view.id}/events", "auditor", 200)
    assert [e["kind"] for e in again["events"]] == ["started", "task_completed", "case_read"]
    assert again["events"][2]["actor"] == "auditor" and again["events"][2]["detail"] == {"what": "events"}
    assert call("GET", f"/api/instances/{view.id}/events?page=2", "auditor", 200) == {"events": [], "page": 2}
    call("GET", f"/api/instances/{view.id}/events?page=nope", "auditor", 422)


def test_send_message(call: Call, web_db: Database) -> None:
    view = awaiting_closure(web_db)
    message = {"name": "case_closed", "payload": CLOSURE}
    body = call("POST", f"/api/instances/{view.id}/messages", "intake", 200, json=message)
    assert body["status"] == "running"
    assert [t["bpmn_id"] for t in body["open_tasks"]] == ["followup_visit"]
    assert body["waiting_for"] == []
    assert kinds(web_db, view.id)[-1] == "message_received"


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"name": "case_closed", "payload": CLOSURE}, 409, []),  # nothing waits for it yet
        ("manager", {"name": "case_closed", "payload": CLOSURE}, 403, []),  # reads the case, may not send
        ("auditor", {"name": "case_closed", "payload": CLOSURE}, 403, []),
        ("intake", {"name": "something_else"}, 403, []),
        ("probation", {"name": "case_closed", "payload": CLOSURE}, 404, []),  # may not read the case
        ("police", {"name": "case_closed", "payload": CLOSURE}, 403, []),  # held a task in it, may not send
        ("intake", {"name": "case_closed", "payload": {"typename": "x"}}, 422, ["/payload/typename"]),
        ("intake", {"name": "case_closed", "urgent": True}, 422, ["/urgent"]),
        ("intake", {"payload": CLOSURE}, 422, ["/name"]),
        ("intake", {"name": "case_closed", "payload": "closed"}, 422, ["/payload"]),
        ("intake", ["case_closed"], 400, []),
    ],
)
def test_send_message_refused(
    call: Call,
    web_db: Database,
    who: str,
    json: Any,
    status: int,
    pointers: list[str],
) -> None:
    view = in_review(web_db)
    before = db_state(web_db)
    body = call("POST", f"/api/instances/{view.id}/messages", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_send_message_to_an_unknown_instance(call: Call) -> None:
    call("POST", "/api/instances/999/messages", "intake", 404, json={"name": "case_closed"})


def test_suspend_resume_terminate(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    url = f"/api/instances/{view.id}"
    assert call("POST", f"{url}/suspend", "admin", 200, json={"reason": "court order"})["status"] == "suspended"
    assert call("GET", f"/api/tasks?instance={view.id}", "manager", 200) == {"tasks": []}  # suspended tasks wait
    body = call("POST", f"{url}/suspend", "admin", 409, json={"reason": "again"})
    assert error_of(body)["code"] == "instance_not_active"
    assert call("POST", f"{url}/resume", "admin", 200, json={"reason": "order lifted"})["status"] == "running"
    call("POST", f"{url}/resume", "admin", 409, json={"reason": "not suspended"})
    body = call("POST", f"{url}/terminate", "admin", 200, json={"reason": "duplicate referral"})
    assert body["status"] == "terminated" and body["open_tasks"] == []
    call("POST", f"{url}/terminate", "admin", 409, json={"reason": "again"})
    changes = [e.detail for e in services.list_events(web_db, view.id) if e.kind == "status_changed"]
    assert [(c["action"], c["reason"]) for c in changes] == [
        ("suspend", "court order"),
        ("resume", "order lifted"),
        ("terminate", "duplicate referral"),
    ]


def test_a_suspended_case_takes_no_work(call: Call, web_db: Database) -> None:
    view = awaiting_closure(web_db)
    other = in_review(web_db)
    for instance_id in (view.id, other.id):
        services.set_status(web_db, instance_id, "suspend", reason="hold", actor="admin", now=now())
    before = db_state(web_db)
    message = {"name": "case_closed", "payload": CLOSURE}
    body = call("POST", f"/api/instances/{view.id}/messages", "intake", 409, json=message)
    assert error_of(body)["code"] == "instance_not_active"
    approval = task_of(other, "manager_approval")
    body = call("POST", f"/api/tasks/{approval.id}/complete", "manager", 409, json={"data": APPROVAL})
    assert error_of(body)["code"] == "instance_not_active"
    assert db_state(web_db) == before


@pytest.mark.parametrize("action", ["suspend", "resume", "terminate"])
@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"reason": "r"}, 403, []),
        ("auditor", {"reason": "r"}, 403, []),
        ("admin", {}, 422, ["/reason"]),
        ("admin", {"reason": ""}, 422, ["/reason"]),
        ("admin", {"reason": "   "}, 422, ["/reason"]),
        ("admin", {"reason": "x" * 2001}, 422, ["/reason"]),
        ("admin", {"reason": "r", "force": True}, 422, ["/force"]),
        ("admin", {"reason": 5}, 422, ["/reason"]),
        ("admin", "suspend it", 400, []),
    ],
)
def test_status_changes_refused(
    call: Call,
    web_db: Database,
    action: str,
    who: str,
    json: Any,
    status: int,
    pointers: list[str],
) -> None:
    view = in_review(web_db)
    if action == "resume":
        services.set_status(web_db, view.id, "suspend", reason="set up", actor="admin", now=now())
    before = db_state(web_db)
    body = call("POST", f"/api/instances/{view.id}/{action}", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


@pytest.mark.parametrize("action", ["suspend", "resume", "terminate"])
def test_status_change_of_an_unknown_instance(call: Call, action: str) -> None:
    call("POST", f"/api/instances/999/{action}", "admin", 404, json={"reason": "r"})


# ---------------------------------------------------------------------------------------------
# Tasks


def test_list_tasks(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    other = started(web_db)
    approval = task_of(view, "manager_approval")
    assert [t["id"] for t in call("GET", "/api/tasks", "manager", 200)["tasks"]] == [approval.id]
    assert [t["id"] for t in call("GET", "/api/tasks", "intake", 200)["tasks"]] == [other.open_tasks[0].id]
    assert call("GET", f"/api/tasks?instance={view.id}", "intake", 200) == {"tasks": []}
    assert call("GET", "/api/tasks?lane=Manager", "intake", 200) == {"tasks": []}
    assert [t["id"] for t in call("GET", "/api/tasks?lane=Intake", "intake", 200)["tasks"]] == [other.open_tasks[0].id]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("instance=abc", "/instance"),
        ("instance=0", "/instance"),
        ("mine=1", "/mine"),
    ],
)
def test_list_tasks_bad_query(call: Call, query: str, pointer: str) -> None:
    assert list(error_of(call("GET", f"/api/tasks?{query}", "intake", 422))["fields"]) == [pointer]


def test_get_task_records_the_read(call: Call, web_db: Database) -> None:
    view = started(web_db)
    task = view.open_tasks[0]
    body = call("GET", f"/api/tasks/{task.id}", "intake", 200)
    assert body["task"]["id"] == task.id and body["task"]["bpmn_id"] == "record_case"
    assert "risk_score" in body["schema"]["properties"]
    assert body["ui_schema"]["ui:order"][0] == "child_name"
    assert body["data"] == {}
    last = services.list_events(web_db, view.id)[-1]
    assert (last.kind, last.actor, last.detail) == ("case_read", "intake", {"what": f"task {task.id}"})


def test_get_task_refused(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    before = db_state(web_db)
    call("GET", f"/api/tasks/{approval.id}", "intake", 403)  # reads the case, does not work this lane
    call("GET", f"/api/tasks/{approval.id}", "police", 403)  # holds another task of the case
    call("GET", f"/api/tasks/{approval.id}", "probation", 404)  # may not read the case
    call("GET", "/api/tasks/no-such-task", "intake", 404)
    assert db_state(web_db) == before


def test_closed_task(call: Call, web_db: Database) -> None:
    first = started(web_db)
    record = first.open_tasks[0]
    services.complete_task(web_db, record.id, CASE, actor="intake", now=now())
    body = call("GET", f"/api/tasks/{record.id}", "intake", 409)
    assert error_of(body)["code"] == "task_not_ready"


@pytest.mark.parametrize("endpoint", ["", "/claim", "/unclaim"])
def test_closed_task_of_an_unreadable_case_looks_missing(call: Call, web_db: Database, endpoint: str) -> None:
    """Probation may not read the case, so a closed task in it must look like no task at all."""
    record = started(web_db).open_tasks[0]
    services.complete_task(web_db, record.id, CASE, actor="intake", now=now())
    method = "GET" if not endpoint else "POST"
    missing = call(method, f"/api/tasks/no-such-task{endpoint}", "probation", 404)
    hidden = call(method, f"/api/tasks/{record.id}{endpoint}", "probation", 404)
    assert error_of(hidden)["code"] == error_of(missing)["code"]


def test_claim_and_unclaim(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    url = f"/api/tasks/{task.id}"
    assert call("POST", f"{url}/claim", "intake", 200)["claimed_by"] == "intake"
    assert call("POST", f"{url}/claim", "intake", 200)["claimed_by"] == "intake"  # again: still mine, nothing new
    before = db_state(web_db)
    for step, body_json in (
        ("/claim", None),
        ("/unclaim", None),
        ("/draft", {"data": {}}),
        ("/complete", {"data": CASE}),
    ):
        body = call("POST", url + step, "clerk", 409, json=body_json)
        assert "claimed by intake" in error_of(body)["message"]
    assert db_state(web_db) == before
    assert call("POST", f"{url}/unclaim", "intake", 200)["claimed_by"] is None
    assert call("POST", f"{url}/claim", "clerk", 200)["claimed_by"] == "clerk"
    assert [e.kind for e in services.list_events(web_db, task.instance_id)][1:] == [
        "task_claimed",
        "task_released",
        "task_claimed",
    ]


@pytest.mark.parametrize("step", ["claim", "unclaim"])
def test_claim_refused(call: Call, web_db: Database, step: str) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    before = db_state(web_db)
    call("POST", f"/api/tasks/{approval.id}/{step}", "intake", 403)
    call("POST", f"/api/tasks/{approval.id}/{step}", "auditor", 403)
    call("POST", f"/api/tasks/{approval.id}/{step}", "police", 403)  # holds another task of the case
    call("POST", f"/api/tasks/{approval.id}/{step}", "probation", 404)
    call("POST", f"/api/tasks/no-such-task/{step}", "manager", 404)
    assert db_state(web_db) == before


def test_draft(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    url = f"/api/tasks/{task.id}"
    saved = call("POST", f"{url}/draft", "intake", 200, json={"data": {"child_name": "Sam", "risk_score": 42}})
    assert saved["id"] == task.id
    # A draft is not checked against the form until completion.
    assert call("GET", url, "intake", 200)["data"] == {"child_name": "Sam", "risk_score": 42}
    assert "draft_saved" in kinds(web_db, task.instance_id)


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"data": {"child_name": {"typename": "x"}}}, 422, ["/data/child_name/typename"]),
        ("intake", {"data": "Sam"}, 422, ["/data"]),
        ("intake", {}, 422, ["/data"]),
        ("intake", {"data": {}, "autosave": True}, 422, ["/autosave"]),
        ("intake", '{"data": ', 400, []),
        ("manager", {"data": {}}, 403, []),
        ("auditor", {"data": {}}, 403, []),
        ("police", {"data": {}}, 404, []),
    ],
)
def test_draft_refused(call: Call, web_db: Database, who: str, json: Any, status: int, pointers: list[str]) -> None:
    task = started(web_db).open_tasks[0]
    before = db_state(web_db)
    options = {"data": json, "content_type": "application/json"} if isinstance(json, str) else {"json": json}
    body = call("POST", f"/api/tasks/{task.id}/draft", who, status, **options)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_complete(call: Call, web_db: Database) -> None:
    task = started(web_db).open_tasks[0]
    body = call("POST", f"/api/tasks/{task.id}/complete", "intake", 200, json={"data": CASE})
    assert body["data"]["priority"] == "urgent"
    assert sorted((t["bpmn_id"], t["assignee"]) for t in body["open_tasks"]) == [
        ("agency_review", "health"),
        ("agency_review", "police"),
        ("manager_approval", None),
    ]
    before = db_state(web_db)
    body = call("POST", f"/api/tasks/{task.id}/complete", "intake", 409, json={"data": CASE})  # twice
    assert error_of(body)["code"] == "task_not_ready"
    assert db_state(web_db) == before


@pytest.mark.parametrize(
    ("who", "json", "status", "pointers"),
    [
        ("intake", {"data": {**CASE, "risk_score": "high"}}, 422, ["/data/risk_score"]),
        ("intake", {"data": {k: v for k, v in CASE.items() if k != "child_name"}}, 422, ["/data/child_name"]),
        ("intake", {"data": {**CASE, "favourite_colour": "red"}}, 422, ["/data/favourite_colour"]),
        ("intake", {"data": {**CASE, "referral_date": "yesterday"}}, 422, ["/data/referral_date"]),
        ("intake", {"data": {**CASE, "typename": "Task"}}, 422, ["/data/typename"]),
        ("intake", {"data": CASE, "comment": "done"}, 422, ["/comment"]),
        ("intake", {"data": [CASE]}, 422, ["/data"]),
        ("intake", [CASE], 400, []),
        ("manager", {"data": CASE}, 403, []),
        ("auditor", {"data": CASE}, 403, []),
        ("admin", {"data": CASE}, 403, []),
        ("probation", {"data": CASE}, 404, []),
    ],
)
def test_complete_refused(call: Call, web_db: Database, who: str, json: Any, status: int, pointers: list[str]) -> None:
    task = started(web_db).open_tasks[0]
    before = db_state(web_db)
    body = call("POST", f"/api/tasks/{task.id}/complete", who, status, json=json)
    assert sorted(error_of(body)["fields"]) == pointers
    assert db_state(web_db) == before


def test_complete_by_someone_who_may_not_read_the_case(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    police = task_of(view, "agency_review", "police")
    body = call("POST", f"/api/tasks/{police.id}/complete", "police", 200, json={"data": report("police report")})
    assert set(body["data"]) <= {"stage"} and body["waiting_for"] == [] and body["next_timer_at"] is None
    assert body["open_tasks"] == []  # health's review and the manager's approval are not police business
    health = task_of(view, "agency_review", "health")
    body = call("POST", f"/api/tasks/{health.id}/complete", "health", 200, json={"data": report("health report")})
    approval = task_of(view, "manager_approval")
    body = call("POST", f"/api/tasks/{approval.id}/complete", "manager", 200, json={"data": APPROVAL})
    assert body["status"] == "waiting"
    assert [r["summary"] for r in body["data"]["agency_reports"]] == ["police report", "health report"]


def test_reads_of_case_data_are_recorded(call: Call, web_db: Database) -> None:
    view = in_review(web_db)
    approval = task_of(view, "manager_approval")
    call("GET", f"/api/instances/{view.id}", "manager", 200)
    call("GET", f"/api/tasks/{approval.id}", "manager", 200)
    call("GET", f"/api/instances/{view.id}/events", "manager", 200)
    call("GET", "/api/instances", "manager", 200)  # a list of summaries: not a read of case data
    call("GET", "/api/tasks", "manager", 200)
    reads = [(e.actor, e.detail["what"]) for e in services.list_events(web_db, view.id) if e.kind == "case_read"]
    assert reads == [("manager", "instance"), ("manager", f"task {approval.id}"), ("manager", "events")]
