"""The JSON API's contract: each endpoint's success and documented errors, bodies checked against /api/openapi.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

from cprflow.db.database import Database
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from cprflow.web import create_app, schemas
from tests.web.api.helpers import CHANGED_TRIAGE, error_of, upload
from tests.web.conftest import db_state, make_settings

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
