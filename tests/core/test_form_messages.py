"""Validation messages as people read them: GOV.UK wording from each field's title, in English and Welsh."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cprflow.core import form_messages, forms
from cprflow.core.errors import Failure, InvalidData
from tests.conftest import ROOT

FORM = {
    "type": "object",
    "required": ["child_reference", "decision", "agreed", "referral_date", "agencies"],
    "properties": {
        "child_reference": {"type": "string", "title": "Child's reference", "x-title-cy": "Cyfeirnod y plentyn"},
        "decision": {
            "type": "string",
            "title": "Decision",
            "x-title-cy": "Penderfyniad",
            "enum": ["concise", "extended"],
            "x-enumNames": ["Concise review", "Extended review"],
            "x-enumNames-cy": ["Adolygiad cryno", "Adolygiad estynedig"],
        },
        "agreed": {"type": "boolean", "const": True, "title": "The terms of reference are agreed"},
        "referral_date": {"type": "string", "format": "date", "title": "Date of referral", "x-title-cy": "Dyddiad"},
        "summary": {"type": "string", "title": "Summary", "maxLength": 10, "x-title-cy": "Crynodeb"},
        "children": {"type": "integer", "title": "Number of children", "minimum": 1},
        "NHS_number": {
            "type": "string",
            "title": "NHS number",
            "pattern": "^[0-9]{10}$",
            "x-errorMessages": {"pattern": "Enter the NHS number as 10 digits"},
            "x-errorMessages-cy": {"pattern": "Rhowch y rhif GIG fel 10 digid"},
        },
        "agencies": {"type": "array", "title": "Agencies", "minItems": 1, "items": {"enum": ["police", "health"]}},
    },
    "additionalProperties": False,
}


def refused(data: dict[str, Any], schema: dict[str, Any] = FORM) -> InvalidData:
    with pytest.raises(InvalidData) as caught:
        forms.validate(schema, data)
    return caught.value


def test_missing_answers_say_enter_select_or_confirm_from_the_title() -> None:
    err = refused({"agencies": []})
    assert form_messages.explain(FORM, err) == {
        "/child_reference": ["Enter child's reference"],
        "/decision": ["Select decision"],
        "/agreed": ["Confirm the terms of reference are agreed"],
        "/referral_date": ["Enter date of referral"],
        "/agencies": ["Select agencies"],
    }
    # the API keeps its own short words; only people get the sentences
    assert err.fields["/child_reference"] == ["is required"]


def test_a_wrong_answer_names_the_field_and_the_rule_never_the_validators_text() -> None:
    data = {
        "child_reference": "C-1",
        "decision": "concise",
        "agreed": False,
        "referral_date": "2026-02-31",
        "summary": "far too long a summary",
        "children": 0,
        "NHS_number": "12",
        "agencies": ["police"],
    }
    worded = form_messages.explain(FORM, refused(data))
    assert worded == {
        "/agreed": ["Confirm the terms of reference are agreed"],
        "/referral_date": ["Date of referral must be a real date"],
        "/summary": ["Summary must be 10 characters or fewer"],
        "/children": ["Number of children must be 1 or more"],
        "/NHS_number": ["Enter the NHS number as 10 digits"],
    }
    assert "True was expected" not in json.dumps(worded)
    number = form_messages.explain(FORM, refused({**data, "children": "two", "summary": "ok"}))
    assert number["/children"] == ["Number of children must be a whole number"]


def test_welsh_messages_use_the_welsh_title_and_override() -> None:
    data = {"decision": "concise", "agreed": True, "referral_date": "31-2", "summary": "x" * 11, "NHS_number": "1"}
    worded = form_messages.explain(FORM, refused({**data, "agencies": ["police"]}), "cy")
    assert worded == {
        "/child_reference": ["Rhowch gyfeirnod y plentyn"],
        "/referral_date": ["Rhaid i ddyddiad fod yn ddyddiad go iawn"],
        "/summary": ["Rhaid i grynodeb fod yn 10 nod neu lai"],
        "/NHS_number": ["Rhowch y rhif GIG fel 10 digid"],
    }


def test_a_choice_the_rules_exclude_lists_the_allowed_ones_by_name() -> None:
    schema = {
        **FORM,
        "allOf": [{"then": {"properties": {"decision": {"enum": ["extended"]}}}, "if": {"required": ["decision"]}}],
    }
    data = {"child_reference": "C", "decision": "concise", "agreed": True, "referral_date": "2026-01-05"}
    worded = form_messages.explain(schema, refused({**data, "agencies": ["health"]}, schema), "cy")
    assert worded == {"/decision": ["Rhaid i benderfyniad fod yn un o: Adolygiad estynedig"]}


@pytest.mark.parametrize("path", sorted((ROOT / "forms").glob("*.schema.json")), ids=lambda p: p.name)
def test_every_shipped_form_words_its_missing_answers_in_both_languages(path: Any) -> None:
    schema = json.loads(path.read_text())
    required = schema.get("required") or []
    if not required:
        return
    err = refused({}, schema)
    for lang in ("en", "cy"):
        worded = form_messages.explain(schema, err, lang)
        assert set(worded) == {f"/{k}" for k in required}
        for messages in worded.values():
            assert all(
                m.split(" ", 1)[0]
                in {"Enter", "Select", "Upload", "Confirm", "Rhowch", "Dewiswch", "Uwchlwythwch", "Cadarnhewch"}
                for m in messages
            ), messages


def _fields(node: dict[str, Any], pointer: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every field a form declares, nested ones too (an array's items as item 0), with its pointer."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, child in (node.get("properties") or {}).items():
        if isinstance(child, dict):
            found.append((f"{pointer}/{name}", child))
            found += _fields(child, f"{pointer}/{name}")
    if isinstance(node.get("items"), dict):
        found += _fields(node["items"], f"{pointer}/0")
    return found


# After "Rhowch", "Dewiswch", "Cadarnhewch", "Uwchlwythwch" the object takes the soft mutation: a title
# opening with one of these radical sounds goes on with the mutated one ("Cyfeirnod" -> "Rhowch gyfeirnod")...
_SOFT = {"ll": "l", "rh": "r", "c": "g", "p": "b", "t": "d", "g": "", "b": "f", "d": "dd", "m": "f"}
# ...but "ch", "ph", "th", "dd" are not those sounds, and words that open a clause or an indirect
# question keep theirs ("Rhowch pam", "Cadarnhewch mae'r drafft yn ddienw"): see cprflow.core.welsh.
_NOT_RADICAL = ("ch", "ph", "th", "dd")
_CLAUSE_WORDS = {"beth", "pam", "pryd", "pwy", "pa", "ble", "mae", "roedd", "daeth", "rhaid", "rhannwyd"}


@pytest.mark.parametrize("path", sorted((ROOT / "forms").glob("*.schema.json")), ids=lambda p: p.name)
def test_every_generated_welsh_message_mutates_the_word_after_the_imperative(path: Any) -> None:
    schema = json.loads(path.read_text())
    for pointer, node in _fields(schema):
        if "x-title-cy" not in node or "required" in (node.get("x-errorMessages-cy") or {}):
            continue
        worded = form_messages.message(schema, Failure(pointer, "required"), "cy")
        verb, rest = worded.split(" ", 1)
        assert verb in {"Rhowch", "Dewiswch", "Cadarnhewch", "Uwchlwythwch"}, worded
        first = node["x-title-cy"].split(" ", 1)[0].split("'", 1)[0]
        said = rest.split(" ", 1)[0].split("'", 1)[0]
        radical = next((r for r in _SOFT if first.lower().startswith(r)), None)
        if first.lower().startswith(_NOT_RADICAL) or first.lower() in _CLAUSE_WORDS or radical is None:
            assert said.lower() == first.lower(), f"{pointer}: {worded}"
        else:
            assert said == _SOFT[radical] + first.lower()[len(radical) :], f"{pointer}: {worded}"


@pytest.mark.parametrize(
    ("form", "pointer", "welsh"),
    [
        ("start_child_practice_review", "/child_reference", "Rhowch gyfeirnod y plentyn"),
        ("start_child_practice_review", "/referral_date", "Rhowch ddyddiad atgyfeirio at yr Is-grŵp Adolygu"),
        ("start_child_practice_review", "/board_area", "Rhowch ardal y Bwrdd"),
        ("record_board_decision", "/review_type", "Dewiswch fath o adolygiad yn ôl y meini prawf"),
        ("record_board_decision", "/decision", "Dewiswch benderfyniad"),
        ("record_board_decision", "/suggested_routes", "Rhowch lwybrau a awgrymir"),
        ("record_board_decision", "/decision_rationale", "Rhowch resymeg"),
        ("record_board_decision", "/review_type_reason", "Rhowch pam"),
        ("board_consideration", "/board_challenge", "Rhowch her y Bwrdd"),
        ("board_consideration", "/strategic_implications", "Rhowch oblygiadau strategol i'r cynllun gweithredu"),
        ("accept_appointment", "/decline_reason", "Rhowch reswm dros wrthod"),
        ("accept_appointment", "/appointment_response", "Dewiswch eich ymateb"),
    ],
)
def test_known_welsh_messages_read_as_a_welsh_speaker_writes_them(form: str, pointer: str, welsh: str) -> None:
    schema = json.loads((ROOT / "forms" / f"{form}.schema.json").read_text())
    assert form_messages.message(schema, Failure(pointer, "required"), "cy") == welsh
