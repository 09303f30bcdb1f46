"""Checking submitted task data against its form: every field at fault is named by its JSON pointer."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.core import forms
from cprflow.core.errors import InvalidData
from cprflow.core.views import DocumentView
from tests.conftest import T0

REFERRAL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "child_name": {"type": "string", "minLength": 1},
        "referral_date": {"type": "string", "format": "date"},
        "risk_score": {"type": "integer", "minimum": 0, "maximum": 10},
        "agencies": {"type": "array", "items": {"type": "string"}},
        "case_number": {"type": "string", "readOnly": True},
        "section": {
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
            "additionalProperties": False,
        },
    },
    "required": ["child_name", "referral_date"],
}


def refused(schema: dict[str, Any], data: Any, **options: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidData) as error:
        forms.validate(schema, data, **options)
    assert error.value.code == "invalid_data"
    return error.value.fields


def test_valid_data_passes_including_unicode_and_empty_lists() -> None:
    forms.validate(REFERRAL, {"child_name": "Siân Ffion", "referral_date": "2026-03-02", "agencies": []})


def test_each_fault_is_named_by_its_field() -> None:
    assert refused(REFERRAL, {"child_name": "", "risk_score": 11, "referral_date": "2026-02-30"}) == {
        "/child_name": ["'' should be non-empty"],
        "/risk_score": ["11 is greater than the maximum of 10"],
        "/referral_date": ["'2026-02-30' is not a 'date'"],
    }


def test_missing_fields_are_named_even_with_quotes_slashes_or_tildes() -> None:
    schema = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in ("child's name", 'the "main" agency', "a/b~c", "enw'r")},
        "required": ["child's name", 'the "main" agency', "a/b~c", "enw'r"],
    }
    assert refused(schema, {}) == {
        "/child's name": ["is required"],
        '/the "main" agency': ["is required"],
        "/a~1b~0c": ["is required"],
        "/enw'r": ["is required"],
    }


def test_missing_fields_inside_a_section_are_named_there() -> None:
    fields = refused(REFERRAL, {"child_name": "Sam", "referral_date": "2026-03-02", "section": {"extra": 1}})
    assert fields == {"/section/summary": ["is required"], "/section/extra": ["is not a field of this form"]}


def test_fields_the_form_does_not_declare_or_shows_read_only_are_refused() -> None:
    fields = refused(
        REFERRAL, {"child_name": "Sam", "referral_date": "2026-03-02", "stage": "closed", "case_number": "X"}
    )
    assert fields == {"/stage": ["is not a field of this form"], "/case_number": ["is read-only"]}


def test_a_form_that_allows_more_fields_takes_them() -> None:
    forms.validate(
        {**REFERRAL, "additionalProperties": True}, {"child_name": "Sam", "referral_date": "2026-03-02", "x": 1}
    )


@pytest.mark.parametrize("data", [[], "text", None, 3])
def test_data_must_be_an_object(data: Any) -> None:
    assert refused(REFERRAL, data) == {"/": ["must be an object"]}


def test_the_serializers_reserved_key_is_refused_at_any_depth() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "object"}, "l": {"type": "array"}}}
    assert refused(schema, {"a": {"typename": "BpmnWorkflow"}, "l": [{"x": {"typename": 1}}]}) == {
        "/a/typename": ["'typename' is a reserved key"],
        "/l/0/x/typename": ["'typename' is a reserved key"],
    }
    with pytest.raises(InvalidData) as error:
        forms.check_reserved({"payload": [{"typename": "x"}]})
    assert error.value.fields == {"/payload/0/typename": ["'typename' is a reserved key"]}
    forms.check_reserved({"type_name": 1, "name": "typename"})  # only the key itself is reserved
    with pytest.raises(InvalidData):
        forms.check_reserved(["not", "an", "object"])


def test_a_document_field_must_name_a_document_of_the_review_in_its_slot() -> None:
    schema = {
        "type": "object",
        "properties": {"timeline": {"type": "object", "x-document": {"slot": "agency_timeline_{assignee}"}}},
    }
    document = DocumentView(
        id=7, instance_id=1, slot="agency_timeline_police", version=2, filename="t.pdf",
        content_type="application/pdf", size=10, sha256="0" * 64, uploaded_by="police", uploaded_at=T0, has_text=False, text_status="none",
    )  # fmt: skip
    good = {"timeline": {"document_id": 7, "version": 2, "filename": "t.pdf"}}
    forms.validate(schema, good, documents=[document], assignee="police")
    unknown = {"/timeline": ["names no document of this review filed as 'agency_timeline_health'"]}
    assert refused(schema, good, documents=[document], assignee="health") == unknown  # police's: not named
    assert refused(schema, good, assignee="health") == unknown


AUDIT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "actions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "action_id": {"type": "string"},
                    "due_date": {"type": "string", "format": "date"},
                    "audit_status": {"type": "string", "enum": ["complete", "on_track"]},
                    "effect": {"type": "string"},
                },
                "required": ["action_id", "audit_status", "effect"],
            },
        },
        "audit_date": {"type": "string", "format": "date"},
    },
}


def test_a_list_opens_with_its_rows_when_only_answers_still_to_be_given_are_missing() -> None:
    # The plan's actions come to the audit without this cycle's answers: the form shows each action
    # to audit, not an empty list to type out again; only the refused answers ("" as a choice or a
    # date) are left out, and a value refused as a whole still opens empty.
    planned = [
        {"action_id": "A1", "due_date": "2026-09-30", "audit_status": ""},
        {"action_id": "A2", "due_date": "", "audit_status": "on_track"},
    ]
    opened = forms.prefill(AUDIT, {"actions": planned, "audit_date": "", "other": 1})
    assert opened == {
        "actions": [{"action_id": "A1", "due_date": "2026-09-30"}, {"action_id": "A2", "audit_status": "on_track"}]
    }
    assert planned[0]["audit_status"] == ""  # the case's data is left as it was
    assert forms.prefill(AUDIT, {"actions": []}) == {}
    assert forms.prefill(AUDIT, {"actions": "A1"}) == {}


def test_fields_walks_nested_objects_and_array_items_in_order() -> None:
    schema = {
        "properties": {
            "decision": {"type": "string", "enum": ["a"]},
            "actions": {"type": "array", "items": {"properties": {"status": {"type": "string"}}}},
        }
    }
    assert [name for name, _ in forms.fields([schema, {"properties": {"extra": {}}}])] == [
        "decision",
        "actions",
        "status",
        "extra",
    ]
