"""One error shape everywhere: each domain error's status, JSON for the API and a page for people,
marshmallow's messages as JSON pointers, and the headers an error must keep."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cprflow.core import errors
from cprflow.db.database import DatabaseUnavailable
from cprflow.web.errors import MalformedRequest, pointers


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (MalformedRequest("bad body"), 400),
        (errors.Unauthenticated("sign in"), 401),
        (errors.Forbidden("not yours"), 403),
        (errors.NotFound("gone"), 404),
        (errors.TaskNotReady("taken"), 409),
        (errors.NotWaiting("nothing waits"), 409),
        (errors.InvalidData("bad", fields={"/a": ["is required"]}), 422),
        (errors.ExpressionError("refused"), 422),
        (DatabaseUnavailable("down"), 503),
    ],
)
def test_each_domain_error_has_its_status_and_the_one_shape(
    app: Flask, error: errors.CprflowError, status: int
) -> None:
    def fail() -> None:
        raise error

    app.add_url_rule("/api/test-failure", "test_failure", fail)
    response = app.test_client().get("/api/test-failure")
    assert response.status_code == status
    assert response.get_json() == {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    assert ("Retry-After" in response.headers) == (status == 503)


def test_a_refused_deploy_names_each_file_element_and_line(app: Flask) -> None:
    def fail() -> None:
        raise errors.DeployRefused(
            [errors.Problem("processes/a.bpmn", "bad", "Task_1", 4), errors.Problem("forms/b.json", "not JSON")]
        )

    app.add_url_rule("/api/test-failure", "test_failure", fail)
    body = app.test_client().get("/api/test-failure").get_json()
    assert body["error"]["fields"] == {"processes/a.bpmn#Task_1": ["line 4: bad"], "forms/b.json": ["not JSON"]}


def test_pages_answer_with_a_page_and_say_nothing_of_what_is_not_theirs(app: Flask) -> None:
    def fail() -> None:
        raise errors.NotFound("instance 7 not found: Siân's review")

    app.add_url_rule("/test-failure", "test_failure", fail)
    response = app.test_client().get("/test-failure")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "There is nothing here you may see." in response.text and "Siân" not in response.text


def test_a_wrong_method_keeps_its_allow_header(client: FlaskClient, auth: Callable[[str], dict[str, str]]) -> None:
    response = client.delete("/api/instances", headers=auth("intake"))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_marshmallow_messages_become_json_pointers() -> None:
    messages = {
        "data": {"child_name": ["Not a valid string."], "agencies": {"0": ["Unknown field."]}},
        "_schema": ["Invalid input type."],
        "limit": ["Must be at most 200."],
    }
    assert pointers(messages) == {
        "/data/child_name": ["Not a valid string."],
        "/data/agencies/0": ["is not a known field"],
        "/": ["Invalid input type."],
        "/limit": ["Must be at most 200."],
    }
    assert pointers(["whole body wrong"]) == {"/": ["whole body wrong"]}
