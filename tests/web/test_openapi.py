"""The OpenAPI document built from the routes: every operation named once, secured ones saying so,
and each error a client may get documented with the one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.web import api as _api  # noqa: F401 - registers the operations
from cprflow.web import openapi

DOCUMENT = openapi.build()
OPERATIONS = [(path, method, op) for path, item in DOCUMENT["paths"].items() for method, op in item.items()]
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def test_every_registered_route_is_documented_once_with_a_unique_id() -> None:
    assert len(OPERATIONS) == len(openapi.OPERATIONS) > 20
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(set(ids)) == len(ids)


def test_path_parameters_are_typed_and_required() -> None:
    path, params = openapi._path("/instances/<int:instance_id>/tasks/<task_id>")
    assert path == "/instances/{instance_id}/tasks/{task_id}"
    assert params == [
        {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]


@pytest.mark.parametrize(("path", "method", "op"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_each_operation_documents_its_errors_and_security(path: str, method: str, op: dict[str, Any]) -> None:
    registered = next(o for o in openapi.OPERATIONS if openapi._path(o.rule)[0] == path and o.method.lower() == method)
    errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
    assert all(r["content"]["application/json"]["schema"] == ERROR for r in errors.values()), errors
    assert registered.auth == ("security" in op)
    assert "401" in errors or not registered.auth  # the token request answers 401 too, unsecured
    if registered.body is not None:
        assert {"400", "422"} <= set(errors) and op["requestBody"]["required"] is True
    assert any(200 <= int(s) < 300 for s in op["responses"])
