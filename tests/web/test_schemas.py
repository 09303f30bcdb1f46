"""What the JSON API accepts: unknown fields refused, lengths and ranges bounded, defaults filled, and
each fault named by field, before any use case is asked."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from cprflow.web import schemas


@pytest.mark.parametrize(
    ("schema", "given", "loaded"),
    [
        (schemas.StartRequest, {"process": "sample_case"}, {"process": "sample_case", "data": {}}),
        (schemas.MessageRequest, {"name": "case_closed"}, {"name": "case_closed", "payload": {}}),
        (schemas.InstanceQuery, {}, {"overdue": False, "on_hold": False, "sort": "newest", "page": 1}),
        (schemas.PageQuery, {"page": "3"}, {"page": 3}),
        (
            schemas.TokenRequest,
            {"username": "siân", "password": "p" * 1000},
            {"username": "siân", "password": "p" * 1000},
        ),
    ],
)
def test_good_requests_load_with_their_defaults(schema: type[Schema], given: dict[str, Any], loaded: Any) -> None:
    assert schema().load(given) == loaded


@pytest.mark.parametrize(
    ("schema", "given", "field"),
    [
        (schemas.StartRequest, {"process": "sample_case", "extra": 1}, "extra"),  # unknown fields are refused
        (schemas.StartRequest, {"process": ""}, "process"),
        (schemas.StartRequest, {"process": "x" * 201}, "process"),
        (schemas.StartRequest, {"process": "p", "data": []}, "data"),
        (schemas.TokenRequest, {"username": "a", "password": "p" * 1001}, "password"),
        (schemas.ReasonRequest, {"reason": ""}, "reason"),
        (schemas.DataRequest, {}, "data"),
        (schemas.InstanceQuery, {"status": "sleeping"}, "status"),
        (schemas.InstanceQuery, {"page": "0"}, "page"),
        (schemas.InstanceQuery, {"year": "1066"}, "year"),
        (schemas.InstanceQuery, {"sort": "'; DROP TABLE instances; --"}, "sort"),
        (schemas.TaskQuery, {"instance": str(2**31)}, "instance"),
        (schemas.DraftSaveRequest, {"path": "forms/a.json", "content": "{}", "revision": -1}, "revision"),
        (schemas.DraftDiscardRequest, {"paths": []}, "paths"),
    ],
)
def test_bad_requests_name_the_field_at_fault(schema: type[Schema], given: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        schema().load(given)
    assert list(refused.value.messages) == [field], refused.value.messages  # type: ignore[arg-type]


def test_the_error_shape_is_code_message_and_fields() -> None:
    body = {"error": {"code": "invalid_data", "message": "no", "fields": {"/a": ["is required"]}}}
    assert schemas.ErrorResponse().load(body) == body
    with pytest.raises(ValidationError):
        schemas.ErrorResponse().load({"error": {"code": "x", "message": "no"}})
