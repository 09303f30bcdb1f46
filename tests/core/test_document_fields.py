"""Upload fields in forms: where their files are filed (slots, per agency), what a deploy refuses, and
references that must name a document of the same review, in the field's slot, as it is stored."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.core import document_fields
from cprflow.core.views import DocumentView
from tests.conftest import T0


def upload(slot: str) -> dict[str, Any]:
    return {"type": "object", "x-document": {"slot": slot}}


FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "final_report": upload("final_report"),
        "section": {"type": "object", "properties": {"timeline": upload("agency_timeline_{assignee}")}},
        "note": {"type": "string"},
    },
}


def document(id: int, slot: str, version: int = 1, filename: str = "report.pdf") -> DocumentView:
    return DocumentView(
        id=id, instance_id=1, slot=slot, version=version, filename=filename, content_type="application/pdf",
        size=1, sha256="0" * 64, uploaded_by="x", uploaded_at=T0, has_text=False, text_status="none",
    )  # fmt: skip


def test_fields_are_found_at_the_top_and_inside_sections() -> None:
    assert list(document_fields.fields(FORM)) == [
        ("/final_report", "final_report"),
        ("/section/timeline", "agency_timeline_{assignee}"),
    ]
    assert document_fields.has_fields(FORM)
    assert not document_fields.has_fields({"type": "object", "properties": {"note": {"type": "string"}}})
    assert not document_fields.has_fields(None)
    assert list(document_fields.fields({"properties": ["not", "a", "mapping"]})) == []


@pytest.mark.parametrize(
    ("assignee", "slot"),
    [("police", "agency_timeline_police"), ("Health", "agency_timeline_health"), (None, None), ("", None)],
)
def test_a_slot_may_name_the_tasks_assignee(assignee: str | None, slot: str | None) -> None:
    assert document_fields.slot_of("agency_timeline_{assignee}", assignee) == slot


@pytest.mark.parametrize("assignee", ["north wales", "../etc", "heddlu-gogledd", "Siân"])
def test_an_assignee_that_makes_no_valid_slot_resolves_to_none(assignee: str) -> None:
    assert document_fields.slot_of("agency_timeline_{assignee}", assignee) is None


def test_deploy_refuses_slots_that_are_not_lower_case_names() -> None:
    form = {"properties": {"a": upload("Final Report"), "b": upload("timeline_{agency}"), "c": upload("ok_{assignee}")}}
    problems = document_fields.template_problems(form)
    assert [p.split(":")[0] for p in problems] == ["/a", "/b"]


def test_uploads_go_only_to_slots_a_form_declares_and_agency_slots_have_owners() -> None:
    assert document_fields.declares([FORM], "final_report")
    assert document_fields.declares([FORM], "agency_timeline_police")
    assert not document_fields.declares([FORM], "agency_timeline_")
    assert not document_fields.declares([FORM], "final_report_2")
    assert not document_fields.declares([], "final_report")
    assert document_fields.owner_of([FORM], "agency_timeline_police") == "police"
    assert document_fields.owner_of([FORM], "final_report") is None


def test_references_must_match_a_stored_document_of_the_fields_slot() -> None:
    stored = [document(1, "final_report", 2, "final.pdf"), document(2, "agency_timeline_police")]
    good = {"final_report": document_fields.reference(stored[0])}
    assert good == {"final_report": {"document_id": 1, "version": 2, "filename": "final.pdf"}}
    assert document_fields.check(FORM, good, stored, "police") == {}
    assert document_fields.check(FORM, {"final_report": {"document_id": 2, "version": 1}}, stored, None) == {
        "/final_report": ["names no document of this review filed as 'final_report'"]  # says nothing of the other
    }
    assert document_fields.check(
        FORM, {"final_report": {"document_id": 1, "version": 1, "filename": "final.pdf"}}, stored, None
    ) == {"/final_report": ["does not match the stored document's version and file name"]}
    assert document_fields.check(FORM, {"final_report": {"document_id": "1"}}, stored, None) == {
        "/final_report": ["names no document of this review filed as 'final_report'"]
    }
    timeline = {"section": {"timeline": document_fields.reference(stored[1])}}
    assert document_fields.check(FORM, timeline, stored, "police") == {}
    assert list(document_fields.check(FORM, timeline, stored, "health")) == ["/section/timeline"]
    assert document_fields.check(FORM, {"note": "no files", "final_report": None}, stored, None) == {}


def test_a_field_whose_name_holds_a_slash_or_tilde_is_checked_too() -> None:
    form = {"type": "object", "properties": {"report/final~v2": upload("final_report")}}
    assert list(document_fields.fields(form)) == [("/report~1final~0v2", "final_report")]
    other_case = {"report/final~v2": {"document_id": 99, "version": 1, "filename": "theirs.pdf"}}
    assert document_fields.check(form, other_case, [document(1, "final_report")], None) == {
        "/report~1final~0v2": ["names no document of this review filed as 'final_report'"]
    }
