"""The helpers every API and page module shares: where sign-in sends a person next, and the checks
on bodies, queries and ids that turn hostile input into a named 4xx before anything is stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, ValidationError, fields

from cprflow.core.errors import InvalidData, NotFound
from cprflow.db.database import Database
from cprflow.web import common
from cprflow.web.errors import MalformedRequest
from tests.web.conftest import db_state, password

#: Where a person goes when the page asked for is not one on this site: the landing page.
HOME = "/"


def sign_in(client: FlaskClient, next_url: str) -> str:
    """Sign in as the intake clerk with ``?next=``; where the answer sends the browser."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"username": "intake", "password": password("intake"), "csrf_token": token.group(1)},
    )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


@pytest.mark.parametrize("target", ["/tasks", "/reviews/3?tab=documents", "/tasks/abc#form"])
def test_sign_in_returns_to_the_page_asked_for(client: FlaskClient, target: str) -> None:
    assert sign_in(client, target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "tasks",
        "",
    ],
)
def test_sign_in_never_sends_a_person_off_the_site(client: FlaskClient, target: str) -> None:
    """Browsers read ``/\\host`` and ``///host`` as another site, as they do ``//host``."""
    assert sign_in(client, target) == HOME


def test_safe_next_itself_gives_only_paths_on_this_site(app: Flask) -> None:
    """The helper holds the line itself, not by how the redirect happens to quote its target."""
    with app.test_request_context():
        for target in ("///evil.example", "/\\evil.example", "/tasks\\..\\\\evil.example", None):
            assert common.safe_next(target) == HOME
        assert common.safe_next("/reviews/1") == "/reviews/1"


def test_the_language_switch_goes_back_only_to_this_site(client: FlaskClient, app: Flask) -> None:
    sign_in(client, "/tasks")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/tasks").text)
    assert token
    for target, expected in (("/reviews", "/reviews"), ("/\\evil.example", HOME)):
        response = client.post("/language", data={"language": "cy", "next": target, "csrf_token": token.group(1)})
        assert response.headers["Location"] == expected


@pytest.mark.parametrize(
    ("body", "pointer", "message"),
    [
        ({"data": {"score": float("nan")}}, "/data/score", "is not a finite number"),
        ({"data": {"score": float("inf")}}, "/data/score", "is not a finite number"),
        ({"data": {"name": "a\x00b"}}, "/data/name", "contains a NUL or an unpaired surrogate character"),
        ({"data": ["ok", "\ud800"]}, "/data/1", "contains a NUL or an unpaired surrogate character"),
        ({"data": {"a/b~c\x00": 1}}, "/data/a~1b~0c\x00", "the key contains a NUL or an unpaired surrogate character"),
    ],
)
def test_unstorable_values_are_named_by_pointer(app: Flask, body: Any, pointer: str, message: str) -> None:
    with app.test_request_context(), pytest.raises(MalformedRequest) as refused:
        common.check_storable(body)
    assert refused.value.fields == {pointer: [message]}


def test_nesting_past_the_limit_is_refused_and_within_it_taken(app: Flask) -> None:
    def nested(depth: int) -> Any:
        value: Any = "leaf"
        for _ in range(depth):
            value = {"a": [value]}
        return value

    with app.test_request_context():
        common.check_storable(nested(common.MAX_DEPTH // 2))
        with pytest.raises(MalformedRequest, match="nests deeper than 64 levels"):
            common.check_storable(nested(common.MAX_DEPTH))
        common.check_storable({"unicode": "Siân ✓", "empty": [], "quote": 'it\'s "fine"'})


def test_a_body_too_deep_for_the_json_parser_is_a_400_and_changes_nothing(
    client: FlaskClient, auth: Callable[[str], dict[str, str]], web_db: Database
) -> None:
    before = db_state(web_db)
    deep = '{"process_id": "sample_case", "data": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"
    response = client.post("/api/instances", data=deep, headers={**auth("intake"), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_request"
    assert db_state(web_db) == before


@pytest.mark.parametrize("row_id", [0, -1, 2**31])
def test_ids_no_row_can_have_are_not_found(row_id: int) -> None:
    with pytest.raises(NotFound, match=f"review {row_id} not found"):
        common.known_id(row_id, "review")
    common.known_id(2**31 - 1)


def test_a_task_id_with_a_nul_is_not_found() -> None:
    with pytest.raises(NotFound):
        common.known_task("abc\x00")
    common.known_task("3f1c2d4e-0000-4000-8000-000000000000")


class _Query(Schema):
    status = fields.String()


def test_a_query_with_a_nul_is_refused_naming_the_parameter(app: Flask) -> None:
    with app.test_request_context("/api/instances?status=a%00b"), pytest.raises(ValidationError) as refused:
        common.query(_Query)
    assert refused.value.messages == {"status": ["contains a NUL character"]}
    with app.test_request_context("/api/instances?status=open"):
        assert common.query(_Query) == {"status": "open"}


def test_fields_within_names_fields_inside_the_body() -> None:
    with pytest.raises(InvalidData) as refused, common.fields_within("data"):
        raise InvalidData("no", fields={"/": ["must be an object"], "/child_name": ["is required"]})
    assert refused.value.fields == {"/data": ["must be an object"], "/data/child_name": ["is required"]}
