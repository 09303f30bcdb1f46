"""Task forms as a person meets them: rendered HTML read back with lxml, and submissions posted as a browser would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from werkzeug.datastructures import MultiDict

from cprflow.web.formrender import add_row, parse_submission, render_form
from tests.conftest import ROOT, SAMPLE

# ---------------------------------------------------------------------------------------------
# A small browser: read the fragment, change what a person would change, post it.


def page(
    schema: dict[str, Any],
    data: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    ui: dict[str, Any] | None = None,
    lang: str = "en",
) -> lxml.html.HtmlElement:
    html = str(render_form(schema, AS_LISTS if ui is None else ui, data or {}, errors or {}, lang))
    return lxml.html.fragment_fromstring(html, create_parent="div")


def post(root: lxml.html.HtmlElement, click: lxml.html.HtmlElement | None = None) -> MultiDict:
    """The fields a browser posts for this fragment, in document order (buttons only when clicked)."""
    pairs: list[tuple[str, str]] = []
    for el in root.iter("input", "select", "textarea", "button"):
        name, kind = el.get("name"), el.get("type", "text")
        if name is None or el.get("disabled") is not None:
            continue
        if el.tag == "button" or kind in ("submit", "image", "reset", "button"):
            if el is click:
                pairs.append((name, el.get("value", "")))
        elif kind in ("checkbox", "radio"):
            if el.get("checked") is not None:
                pairs.append((name, el.get("value", "on")))
        elif el.tag == "select":
            options = el.findall(".//option")
            chosen = [o for o in options if o.get("selected") is not None] or options[:1]
            pairs.extend((name, o.get("value", o.text_content())) for o in chosen)
        elif el.tag == "textarea":
            text = el.text or ""
            text = text.removeprefix("\n")  # HTML drops the newline straight after <textarea>
            pairs.append((name, text.replace("\n", "\r\n")))  # and browsers post CRLF
        else:
            pairs.append((name, el.get("value", "")))
    return MultiDict(pairs)


def control(root: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement:
    found = [
        el for el in root.iter("input", "select", "textarea") if el.get("name") == name and el.get("type") != "hidden"
    ]
    assert len(found) == 1, f"expected one control named {name}, found {len(found)}"
    return found[0]


def label_of(root: lxml.html.HtmlElement, el: lxml.html.HtmlElement) -> str:
    labels = root.xpath(f'.//label[@for="{el.get("id")}"]')
    assert len(labels) == 1, f"control {el.get('id')} should have exactly one label"
    return " ".join(labels[0].text_content().split())


def legend_of(el: lxml.html.HtmlElement) -> str:
    fieldset = next(a for a in el.iterancestors("fieldset"))
    return " ".join(fieldset.find("legend").text_content().split())


def described_by(root: lxml.html.HtmlElement, el: lxml.html.HtmlElement) -> list[str]:
    texts = []
    for ref in (el.get("aria-describedby") or "").split():
        target = root.xpath(f'.//*[@id="{ref}"]')
        assert target, f"aria-describedby names {ref}, which is not on the page"
        texts.append(" ".join(target[0].text_content().split()))
    return texts


def summary_links(root: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    links = root.xpath('.//*[@class="govuk-error-summary"]//a')
    return [(a.get("href"), " ".join(a.text_content().split())) for a in links]


def check_wiring(root: lxml.html.HtmlElement) -> None:
    """Ids unique, every label and description points at something real."""
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for label in root.iter("label"):
        assert root.xpath(f'.//*[@id="{label.get("for")}"]'), f"label for {label.get('for')} points nowhere"
    for el in root.xpath(".//*[@aria-describedby]"):
        described_by(root, el)


# ---------------------------------------------------------------------------------------------
# Schemas used below.

# Choices are radios unless the UI schema asks for a list: most tests below read them as lists.
AS_LISTS = {
    "recommendation": {"ui:widget": "select"},
    "outcome": {"ui:widget": "select"},
    "priority": {"ui:widget": "select"},
    "decision": {"ui:widget": "select"},
    "x": {"ui:widget": "select"},
}

CASE = {
    "type": "object",
    "required": ["child_name", "risk_score", "agencies"],
    "properties": {
        "child_name": {
            "type": "string",
            "title": "Child's name",
            "x-title-cy": "Enw'r plentyn",
            "description": "As on the referral",
            "x-description-cy": "Fel ar yr atgyfeiriad",
        },
        "referral_date": {"type": "string", "format": "date", "title": "Referral date"},
        "summary": {"type": "string", "title": "Summary", "maxLength": 2000},
        "risk_score": {"type": "integer", "title": "Risk score", "minimum": 0, "maximum": 10},
        "weight": {"type": "number", "title": "Weight (kg)"},
        "under_five": {"type": "boolean", "title": "Child is under five"},
        "recommendation": {
            "type": "string",
            "title": "Recommendation",
            "enum": ["nfa", "support"],
            "x-enumNames": ["No further action", "Support"],
            "x-enumNames-cy": ["Dim camau pellach"],
        },
        "outcome": {
            "type": "string",
            "title": "Outcome",
            "oneOf": [
                {"const": "open", "title": "Keep open", "x-title-cy": "Cadw ar agor"},
                {"const": "closed", "title": "Close"},
            ],
        },
        "priority": {
            "type": "integer",
            "title": "Priority",
            "oneOf": [{"const": 1, "title": "High"}, {"const": 2, "title": "Low"}],
        },
        "agencies": {
            "type": "array",
            "title": "Agencies",
            "minItems": 1,
            "items": {"type": "string", "enum": ["police", "health", "school"]},
        },
        "address": {
            "type": "object",
            "title": "Address",
            "required": ["town"],
            "properties": {
                "street": {"type": "string", "title": "Street"},
                "town": {"type": "string", "title": "Town"},
            },
        },
        "contacts": {
            "type": "array",
            "title": "Contacts",
            "items": {
                "type": "object",
                "title": "Contact",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "Name"},
                    "role": {"type": "string", "title": "Role", "enum": ["social_worker", "teacher"]},
                    "lead": {"type": "boolean", "title": "Lead contact"},
                },
            },
        },
    },
    "additionalProperties": False,
}

FULL = {
    "child_name": 'Sam "Sammy" <O\'Neil>',
    "referral_date": "2026-03-02",
    "summary": "\nFirst line\nsecond & third",
    "risk_score": 7,
    "weight": 12.5,
    "under_five": True,
    "recommendation": "support",
    "outcome": "closed",
    "priority": 2,
    "agencies": ["police", "school"],
    "address": {"street": "1 High St", "town": "Cardiff"},
    "contacts": [{"name": "Ann", "role": "teacher", "lead": True}, {"name": "Bob", "lead": False}],
}


# ---------------------------------------------------------------------------------------------
# Each kind of field.


def test_text_field_has_label_help_and_required_mark() -> None:
    root = page(CASE)
    name = control(root, "/child_name")
    assert (name.tag, name.get("type")) == ("input", "text")
    assert label_of(root, name) == "Child's name (required)"
    assert name.get("required") is not None and name.get("aria-required") == "true"
    assert described_by(root, name) == ["As on the referral"]
    day = root.get_element_by_id("f-referral_date")  # a date: the day box takes the field's id
    assert label_of(root, day) == "Day" and legend_of(day) == "Referral date"
    assert day.get("required") is None
    check_wiring(root)


@pytest.mark.parametrize(
    "node, ui, tag",
    [
        ({"type": "string", "maxLength": 201}, None, "textarea"),
        ({"type": "string", "format": "textarea"}, None, "textarea"),
        ({"type": "string"}, {"notes": {"ui:widget": "textarea"}}, "textarea"),
        ({"type": "string", "maxLength": 200}, None, "input"),
    ],
)
def test_long_text_is_a_textarea(node: dict[str, Any], ui: dict[str, Any] | None, tag: str) -> None:
    root = page({"type": "object", "properties": {"notes": node}}, ui=ui)
    el = control(root, "/notes")
    assert el.tag == tag
    assert label_of(root, el) == "Notes"  # no title: the property name, readable
    if tag == "input":
        assert el.get("maxlength") == "200"


def test_numbers_have_a_step_and_bounds() -> None:
    root = page(CASE)
    score, weight = control(root, "/risk_score"), control(root, "/weight")
    assert (score.get("type"), score.get("step"), score.get("min"), score.get("max")) == ("number", "1", "0", "10")
    assert (weight.get("type"), weight.get("step")) == ("number", "any")
    halves = page({"type": "object", "properties": {"dose": {"type": "number", "multipleOf": 0.5}}})
    assert control(halves, "/dose").get("step") == "0.5"


def test_boolean_is_a_checkbox_that_posts_false_when_unticked() -> None:
    root = page(CASE)
    box = control(root, "/under_five")
    assert box.get("type") == "checkbox" and label_of(root, box) == "Child is under five"
    assert box.get("required") is None  # `required` on a checkbox would force a tick
    assert parse_submission(CASE, post(root))["under_five"] is False
    box.set("checked", "checked")
    assert parse_submission(CASE, post(root))["under_five"] is True


def test_enum_is_a_select_with_a_blank_choice_when_optional() -> None:
    root = page(CASE)
    select = control(root, "/recommendation")
    assert select.tag == "select" and label_of(root, select) == "Recommendation"
    options = [(o.get("value"), o.text_content()) for o in select.iter("option")]
    assert options == [("", "Select an option"), ("nfa", "No further action"), ("support", "Support")]
    assert "recommendation" not in parse_submission(CASE, post(root))


def test_required_enum_offers_no_blank_once_answered() -> None:
    schema = {
        "type": "object",
        "required": ["decision"],
        "properties": {"decision": {"type": "string", "enum": ["approved", "rejected"]}},
    }
    unanswered = control(page(schema), "/decision")
    assert [o.get("value") for o in unanswered.iter("option")] == ["", "approved", "rejected"]
    answered = control(page(schema, {"decision": "rejected"}), "/decision")
    assert [o.get("value") for o in answered.iter("option")] == ["approved", "rejected"]
    assert answered.get("required") is not None


def test_enum_as_radios_when_the_ui_schema_says_so() -> None:
    root = page(CASE, {"recommendation": "nfa"}, ui={"recommendation": {"ui:widget": "radio"}})
    radios = [el for el in root.iter("input") if el.get("name") == "/recommendation"]
    assert [r.get("type") for r in radios] == ["radio", "radio"]
    assert [label_of(root, r) for r in radios] == ["No further action", "Support"]
    assert [r.get("checked") is not None for r in radios] == [True, False]
    assert legend_of(radios[0]) == "Recommendation"


def test_one_of_gives_labelled_choices_and_typed_values_back() -> None:
    root = page(CASE, {"priority": 1})
    outcome, priority = control(root, "/outcome"), control(root, "/priority")
    assert [(o.get("value"), o.text_content()) for o in outcome.iter("option")][1:] == [
        ("open", "Keep open"),
        ("closed", "Close"),
    ]
    assert [o.get("value") for o in priority.iter("option") if o.get("selected") is not None] == ["1"]
    assert parse_submission(CASE, post(root))["priority"] == 1


def test_array_of_choices_is_a_checkbox_group() -> None:
    root = page(CASE, {"agencies": ["health"]})
    boxes = [el for el in root.iter("input") if el.get("name") == "/agencies"]
    assert [(b.get("type"), b.get("value"), b.get("checked") is not None) for b in boxes] == [
        ("checkbox", "police", False),
        ("checkbox", "health", True),
        ("checkbox", "school", False),
    ]
    assert legend_of(boxes[0]) == "Agencies (required)"
    assert parse_submission(CASE, post(root))["agencies"] == ["health"]
    boxes[1].attrib.pop("checked")
    assert parse_submission(CASE, post(root))["agencies"] == []  # required: left for validation to refuse


def test_nested_object_is_a_fieldset_with_a_legend() -> None:
    root = page(CASE)
    town = control(root, "/address/town")
    assert legend_of(town) == "Address"
    assert label_of(root, town) == "Town (required)"


def test_ui_order_comes_first_and_forgotten_fields_still_show() -> None:
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in "abcd"}}

    def names(root: lxml.html.HtmlElement) -> list[str | None]:
        return [el.get("name") for el in root.iter("input")]

    assert names(page(schema)) == ["/a", "/b", "/c", "/d"]
    assert names(page(schema, ui={"ui:order": ["c", "a"]})) == ["/c", "/a", "/b", "/d"]
    assert names(page(schema, ui={"ui:order": ["d", "*", "a"]})) == ["/d", "/b", "/c", "/a"]


def test_everything_is_escaped() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"type": "string", "title": "<script>alert(1)</script>", "enum": ['"><b>']}},
    }
    html = str(render_form(schema, None, {"x": '"><b>'}, {"/x": ["<i>bad</i>"]}))
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    root = page(schema, {"x": '"><b>'})
    assert label_of(root, control(root, "/x")) == "<script>alert(1)</script>"


# ---------------------------------------------------------------------------------------------
# Errors: beside the field and in a summary at the top.


def test_errors_sit_beside_their_field_and_in_a_summary_that_links_to_it() -> None:
    errors = {
        "/risk_score": ["must be 10 or less"],
        "/child_name": ["is required"],
        "/agencies/1": ["is not allowed"],
        "/contacts/0/name": ["is required"],
        "/": ["something is wrong with the form"],
    }
    root = page(CASE, {"contacts": [{}]}, errors)
    check_wiring(root)
    summary = root.xpath('.//*[@class="govuk-error-summary"]')[0]
    assert root.index(summary) == 0, "the summary comes before every field"
    assert summary.xpath(".//h2")[0].text_content() == "There is a problem"
    assert "something is wrong with the form" in summary.text_content()  # not about one field: listed, unlinked
    # in page order, each link to the control that has the problem
    assert summary_links(root) == [
        ("#f-child_name", "is required"),
        ("#f-risk_score", "must be 10 or less"),
        ("#f-agencies", "is not allowed"),
        ("#f-contacts-0-name", "is required (Contact 1)"),
    ]
    score = control(root, "/risk_score")
    assert score.get("aria-invalid") == "true"
    assert described_by(root, score) == ["Error: must be 10 or less"]
    assert described_by(root, control(root, "/child_name")) == ["As on the referral", "Error: is required"]
    assert legend_of(root.get_element_by_id("f-agencies")) == "Agencies (required)"
    assert control(root, "/weight").get("aria-invalid") is None


def test_no_errors_no_summary() -> None:
    assert not page(CASE).xpath('.//*[@class="govuk-error-summary"]')


# ---------------------------------------------------------------------------------------------
# Welsh.


def test_welsh_labels_help_and_choices_with_english_fallback() -> None:
    root = page(CASE, errors={"/child_name": ["mae angen"]}, lang="cy")
    name = control(root, "/child_name")
    assert label_of(root, name) == "Enw'r plentyn (gofynnol)"
    assert described_by(root, name) == ["Fel ar yr atgyfeiriad", "Gwall: mae angen"]
    assert root.xpath(".//h2")[0].text_content() == "Mae problem wedi codi"
    assert [o.text_content() for o in control(root, "/outcome").iter("option")] == [
        "Dewiswch opsiwn",
        "Cadw ar agor",
        "Close",
    ]
    # only the first enum value has a Welsh name; the second falls back to English, marked as English
    options = list(control(root, "/recommendation").iter("option"))
    assert [o.text_content() for o in options] == ["Dewiswch opsiwn", "Dim camau pellach", "Support"]
    assert [o.get("lang") for o in options] == [None, None, "en"]
    day = root.get_element_by_id("f-referral_date")
    assert label_of(root, day) == "Diwrnod" and legend_of(day) == "Referral date"
    assert root.xpath('.//legend/span[@lang="en"]')


# ---------------------------------------------------------------------------------------------
# Round trips: what the page shows is what comes back.


def test_round_trip_of_every_kind_of_field() -> None:
    root = page(CASE, FULL)
    check_wiring(root)
    assert parse_submission(CASE, post(root)) == FULL
    assert not list(Draft202012Validator(CASE).iter_errors(FULL))


def test_a_plain_mapping_of_lists_or_strings_is_accepted() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "tags": CASE["properties"]["agencies"]}}
    assert parse_submission(schema, {"n": ["x"], "/n": "3", "/tags": ["police", "health"]}) == {
        "n": 3,
        "tags": ["police", "health"],
    }


def test_not_an_integer_is_kept_so_validation_names_the_field() -> None:
    root = page(CASE, FULL)
    control(root, "/risk_score").set("value", "seven")
    control(root, "/weight").set("value", "")
    data = parse_submission(CASE, post(root))
    assert data["risk_score"] == "seven" and "weight" not in data
    wrong = [
        ("/" + "/".join(map(str, e.absolute_path)), e.validator) for e in Draft202012Validator(CASE).iter_errors(data)
    ]
    assert wrong == [("/risk_score", "type")]


def test_fields_the_schema_does_not_define_are_dropped() -> None:
    root = page(CASE, FULL)
    form = post(root)
    for name in ("typename", "/typename", "/address/typename", "/contacts/0/typename", "/contacts/typename", "/nope"):
        form.add(name, "Task")
    data = parse_submission(CASE, form)
    assert data == FULL
    assert "typename" not in json.dumps(data)


# ---------------------------------------------------------------------------------------------
# Lists of rows.


def rows(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return root.xpath('.//fieldset[contains(@class, "cpr-row")]')


def test_rows_for_each_item_plus_a_blank_one() -> None:
    root = page(CASE, FULL)
    found = rows(root)
    assert [" ".join(r.find("legend").text_content().split()) for r in found] == ["Contact 1", "Contact 2", "Contact 3"]
    assert [r.xpath('.//input[@name="_remove"]/@value') for r in found] == [["/contacts/0"], ["/contacts/1"], []]
    assert label_of(root, found[0].xpath('.//input[@name="_remove"]')[0]) == "Remove Contact 1"
    assert control(root, "/contacts/2/name").get("value") == ""
    # required in the rows people filled; not in the spare row, or the browser would refuse every submit
    assert control(root, "/contacts/0/name").get("required") is not None
    assert control(root, "/contacts/2/name").get("required") is None
    assert label_of(root, control(root, "/contacts/2/name")) == "Name (required)"


def test_removing_a_row() -> None:
    root = page(CASE, FULL)
    root.get_element_by_id("f-contacts-0.remove").set("checked", "checked")
    assert parse_submission(CASE, post(root))["contacts"] == [{"name": "Bob", "lead": False}]


def test_filling_the_blank_row_adds_an_item() -> None:
    root = page(CASE, FULL)
    control(root, "/contacts/2/name").set("value", "Cy")
    assert parse_submission(CASE, post(root))["contacts"][2] == {"name": "Cy", "lead": False}


def test_a_blank_row_in_the_middle_is_dropped_and_the_rest_close_up() -> None:
    form = MultiDict(
        [
            ("/contacts/0/name", ""),
            ("/contacts/0/lead", "false"),
            ("/contacts/0/role", ""),
            ("/contacts/5/name", "Di"),
            ("/contacts/5/lead", "false"),
        ]
    )
    assert parse_submission(CASE, form)["contacts"] == [{"name": "Di", "lead": False}]


def test_add_another_gives_one_more_blank_row() -> None:
    root = page(CASE, FULL)
    button = root.xpath('.//button[@name="_add"]')[0]
    assert button.get("value") == "/contacts" and button.text_content() == "Add another"
    assert button.get("formnovalidate") is not None
    form = post(root, click=button)
    data = add_row(parse_submission(CASE, form), form["_add"])
    again = page(CASE, data)
    assert len(rows(again)) == 4
    assert [control(again, f"/contacts/{n}/name").get("value") for n in range(4)] == ["Ann", "Bob", "", ""]
    assert parse_submission(CASE, post(again)) == FULL  # unfilled rows come back as nothing


def test_add_row_creates_lists_and_refuses_what_is_not_a_list() -> None:
    assert add_row({}, "/contacts") == {"contacts": [{}]}
    assert add_row({"a": [{"b": []}]}, "/a/1/b") == {"a": [{"b": []}, {"b": [{}]}]}
    original = {"contacts": [{"name": "Ann"}]}
    assert add_row(original, "/contacts") == {"contacts": [{"name": "Ann"}, {}]}
    assert original == {"contacts": [{"name": "Ann"}]}, "the data given is left alone"
    for bad in ("/child_name", "/contacts/9/x", "", "contacts", "/typename"):
        with pytest.raises(ValueError):
            add_row({"child_name": "Sam", "contacts": []}, bad)


def test_rows_of_plain_strings() -> None:
    schema = {
        "type": "object",
        "properties": {
            "aliases": {"type": "array", "title": "Other names", "items": {"type": "string", "title": "Name"}}
        },
    }
    root = page(schema, {"aliases": ["Sammy", "S"]}, errors={"/aliases/1": ["too short"]})
    check_wiring(root)
    assert summary_links(root) == [("#f-aliases-1", "too short")]
    assert [label_of(root, control(root, f"/aliases/{n}")) for n in range(3)] == ["Name 1", "Name 2", "Name 3"]
    root.get_element_by_id("f-aliases-0.remove").set("checked", "checked")
    assert parse_submission(schema, post(root)) == {"aliases": ["S"]}


def test_local_refs_are_followed() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "person": {"type": "object", "title": "Person", "properties": {"name": {"type": "string", "title": "Name"}}}
        },
        "properties": {
            "carer": {"$ref": "#/$defs/person", "title": "Carer"},
            "siblings": {"type": "array", "items": {"$ref": "#/$defs/person"}},
        },
    }
    data = {"carer": {"name": "Ann"}, "siblings": [{"name": "Bo"}]}
    root = page(schema, data)
    assert legend_of(control(root, "/carer/name")) == "Carer"
    assert parse_submission(schema, post(root)) == data


def test_rows_inside_rows_round_trip() -> None:
    schema = {
        "type": "object",
        "properties": {
            "people": {
                "type": "array",
                "items": {
                    "type": "object",
                    "title": "Person",
                    "properties": {
                        "name": {"type": "string"},
                        "phones": {"type": "array", "items": {"type": "string", "title": "Phone"}},
                    },
                },
            }
        },
    }
    data = {"people": [{"name": "Ann", "phones": ["01", "02"]}, {"name": "Bob"}]}
    root = page(schema, data)
    check_wiring(root)
    assert parse_submission(schema, post(root)) == data
    assert [b.get("value") for b in root.xpath('.//button[@name="_add"]')] == [
        "/people/0/phones",
        "/people/1/phones",
        "/people/2/phones",
        "/people",
    ]
    # "Add another" in the spare person's phones: that person comes into being with one blank phone
    assert add_row(data, "/people/2/phones")["people"][2] == {"phones": [{}]}


def test_awkward_property_names_round_trip_with_distinct_ids() -> None:
    names = ["a/b", "a~1b", "a-b", "a.b", "two words", "café", "hint"]
    schema = {
        "type": "object",
        "properties": {
            **{n: {"type": "string", "description": "help"} for n in names},
            "a": {"type": "object", "description": "help", "properties": {"hint": {"type": "string"}}},
        },
    }
    data = {**{n: f"value of {n}" for n in names}, "a": {"hint": "inner"}}
    root = page(schema, data, errors={"/a~1b": ["wrong"], "/a~01b": ["also wrong"]})
    check_wiring(root)
    assert parse_submission(schema, post(root)) == data
    links = summary_links(root)
    assert [text for _, text in links] == ["wrong", "also wrong"]
    assert [root.xpath(f'.//*[@id="{href[1:]}"]')[0].get("name") for href, _ in links] == ["/a~1b", "/a~01b"]


def test_a_schema_that_contains_itself_is_refused() -> None:
    schema = {
        "$defs": {
            "node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "$ref": "#/$defs/node",
    }
    with pytest.raises(ValueError, match="deeper"):
        render_form(schema, None, {}, {})


# ---------------------------------------------------------------------------------------------
# Read-only fields: shown as words, never posted, never read back.

READ_ONLY = {
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {
            "type": "string",
            "title": "Board decision",
            "x-title-cy": "Penderfyniad y Bwrdd",
            "description": "Recorded by the Board.",
            "readOnly": True,
            "enum": ["cpr", "mapf"],
            "x-enumNames": ["Child Practice Review", "Forum"],
            "x-enumNames-cy": ["Adolygiad Ymarfer Plant"],
        },
        "due": {"type": "string", "format": "date", "title": "Due", "readOnly": True},
        "cycle": {"type": "integer", "title": "Audit cycle", "readOnly": True},
        "urgent": {"type": "boolean", "title": "Urgent", "x-title-cy": "Brys", "readOnly": True},
        "feedback": {"type": "string", "title": "Feedback", "readOnly": True},
        "routes": {"type": "array", "title": "Suggested routes", "readOnly": True, "items": {"type": "string"}},
        "reviewer": {
            "type": "object",
            "title": "Reviewer",
            "readOnly": True,
            "properties": {
                "slot": {
                    "type": "string",
                    "title": "Role",
                    "enum": ["lead", "second"],
                    "x-enumNames": ["Lead reviewer", "Second reviewer"],
                },
                "name": {"type": "string", "title": "Name"},
            },
        },
        "actions": {
            "type": "array",
            "title": "Escalated actions",
            "x-title-cy": "Camau wedi'u huwchgyfeirio",
            "readOnly": True,
            "items": {
                "type": "object",
                "title": "Action",
                "properties": {
                    "action_id": {"type": "string", "title": "Reference", "x-title-cy": "Cyfeirnod"},
                    "action": {"type": "string", "title": "Action"},
                    "due_date": {"type": "string", "format": "date", "title": "Due date"},
                },
            },
        },
        "notes": {"type": "string", "title": "Notes"},
        "contacts": {
            "type": "array",
            "title": "Contacts",
            "items": {
                "type": "object",
                "title": "Contact",
                "properties": {
                    "name": {"type": "string", "title": "Name"},
                    "added_by": {"type": "string", "title": "Added by", "readOnly": True},
                },
            },
        },
    },
}

STORED = {
    "decision": "cpr",
    "due": "2026-09-02",
    "cycle": 2,
    "urgent": False,
    "feedback": "Line one\n<b>line</b> two",
    "routes": ["mapf", "close_with_rationale"],
    "reviewer": {"slot": "lead", "name": "Ann Jones"},
    "actions": [
        {"action_id": "A1", "action": "Train staff", "due_date": "2026-05-01"},
        {"action_id": "A2", "action": "Audit files"},
    ],
    "notes": "Some notes",
    "contacts": [{"name": "Bo", "added_by": "bu"}],
}


def read_only_value(root: lxml.html.HtmlElement, pointer: str) -> tuple[str, lxml.html.HtmlElement]:
    """The label of a read-only field and the element holding its value (after any help and error)."""
    found = root.xpath(f'.//dl[contains(@class, "cpr-readonly")][@id="f{pointer.replace("/", "-")}"]')
    assert len(found) == 1, f"expected one read-only value for {pointer}"
    row = found[0].xpath("./div")[0]
    return " ".join(row.find("dt").text_content().split()), row.find("dd").xpath('./div[@class="cpr-value"]')[0]


def test_read_only_fields_are_labelled_values_not_controls() -> None:
    root = page(READ_ONLY, STORED)
    check_wiring(root)
    for pointer in (
        "/decision",
        "/due",
        "/cycle",
        "/urgent",
        "/feedback",
        "/routes",
        "/reviewer",
        "/actions",
        "/contacts/0/added_by",
    ):
        assert not root.xpath(f'.//*[@name="{pointer}"]'), f"{pointer} has a control"
        assert not root.xpath(f'.//*[starts-with(@name, "{pointer}/")]'), f"{pointer} has controls inside it"
    label, value = read_only_value(root, "/decision")
    assert label == "Board decision"  # no "(required)": nobody can answer it here
    assert value.text_content() == "Child Practice Review"
    assert value.getparent().xpath('./*[@class="govuk-hint"]')[0].text_content() == "Recorded by the Board."
    shown = {p: read_only_value(root, p)[1].text_content() for p in ("/due", "/cycle", "/urgent")}
    assert shown == {"/due": "2 September 2026", "/cycle": "2", "/urgent": "No"}
    feedback = read_only_value(root, "/feedback")[1]
    assert feedback.text_content() == "Line one<b>line</b> two" and len(feedback.findall("br")) == 1  # escaped
    assert [li.text_content() for li in read_only_value(root, "/routes")[1].iter("li")] == [
        "mapf",
        "close_with_rationale",
    ]
    reviewer = read_only_value(root, "/reviewer")[1]
    assert [
        (" ".join(r.find("dt").text_content().split()), r.find("dd").text_content())
        for r in reviewer.xpath('.//dl[@class="govuk-summary-list"]/div')
    ] == [("Role", "Lead reviewer"), ("Name", "Ann Jones")]
    # an editable list keeps its controls; the read-only field in each row is shown, blank in the spare row
    assert control(root, "/contacts/0/name").get("value") == "Bo"
    assert read_only_value(root, "/contacts/0/added_by")[1].text_content() == "bu"
    assert read_only_value(root, "/contacts/1/added_by")[1].text_content() == "Not provided"


def test_a_read_only_list_of_records_is_a_table() -> None:
    root = page(READ_ONLY, STORED)
    label, value = read_only_value(root, "/actions")
    assert label == "Escalated actions"
    table = value.find("table")
    assert [th.text_content() for th in table.xpath(".//thead//th")] == ["Reference", "Action", "Due date"]
    assert all(th.get("scope") == "col" for th in table.xpath(".//thead//th"))
    assert [[td.text_content() for td in tr.findall("td")] for tr in table.xpath(".//tbody/tr")] == [
        ["A1", "Train staff", "1 May 2026"],
        ["A2", "Audit files", "Not provided"],
    ]
    assert not root.xpath('.//button[@value="/actions"]'), "no Add another for a read-only list"
    assert not page(READ_ONLY).xpath(".//table"), "nothing recorded: no empty table"
    assert read_only_value(page(READ_ONLY), "/actions")[1].text_content() == "Not provided"


def test_read_only_fields_in_welsh() -> None:
    root = page(READ_ONLY, STORED, lang="cy")
    label, value = read_only_value(root, "/decision")
    assert label == "Penderfyniad y Bwrdd" and value.text_content() == "Adolygiad Ymarfer Plant"
    assert read_only_value(root, "/urgent") == ("Brys", read_only_value(root, "/urgent")[1])
    assert read_only_value(root, "/urgent")[1].text_content() == "Na"
    assert read_only_value(root, "/due")[1].text_content() == "2 Medi 2026"
    table = read_only_value(root, "/actions")[1].find("table")
    assert [th.text_content() for th in table.xpath(".//thead//th")] == ["Cyfeirnod", "Action", "Due date"]
    assert table.xpath('.//thead//th/span[@lang="en"]'), "English fallbacks are marked as English"
    assert read_only_value(page(READ_ONLY, {}, lang="cy"), "/feedback")[1].text_content() == "Heb ei ddarparu"


def test_a_tampered_submission_cannot_change_a_read_only_field() -> None:
    root = page(READ_ONLY, STORED)
    assert parse_submission(READ_ONLY, post(root)) == {"notes": "Some notes", "contacts": [{"name": "Bo"}]}
    form = post(root)
    tampered = {
        "/decision": "mapf",
        "/due": "2030-01-01",
        "/cycle": "9",
        "/urgent": "true",
        "/feedback": "edited",
        "/routes": "none",
        "/routes/0": "none",
        "/reviewer/name": "Mallory",
        "/reviewer/slot": "second",
        "/actions/0/action": "Nothing",
        "/actions/5/action_id": "A9",
        "/contacts/0/added_by": "mallory",
        "decision": "mapf",
    }
    for name, value in tampered.items():
        form.add(name, value)
    data = parse_submission(READ_ONLY, form)
    assert data == {"notes": "Some notes", "contacts": [{"name": "Bo"}]}
    # a required read-only field is left out too: the case keeps its own value, validation says nothing new
    assert "decision" not in parse_submission(READ_ONLY, MultiDict([("/decision", "mapf")]))


def test_errors_on_a_read_only_field_are_shown_beside_it_and_linked() -> None:
    root = page(READ_ONLY, STORED, errors={"/due": ["must be a date"], "/actions/1/due_date": ["is required"]})
    check_wiring(root)
    assert summary_links(root) == [("#f-due", "must be a date"), ("#f-actions", "is required")]
    value = read_only_value(root, "/due")[1]
    assert value.getparent().xpath('./*[@class="govuk-error-message"]')[0].text_content() == "Error: must be a date"
    assert value.text_content() == "2 September 2026"


def test_read_only_values_can_come_from_the_stored_case() -> None:
    # Re-showing a submission with errors: the submission lacks read-only values, the case still has them.
    submitted = parse_submission(READ_ONLY, post(page(READ_ONLY, STORED)))
    bare = page(READ_ONLY, submitted)
    assert read_only_value(bare, "/decision")[1].text_content() == "Not provided"
    html = str(render_form(READ_ONLY, None, submitted, {}, "en", stored=STORED))
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert read_only_value(root, "/decision")[1].text_content() == "Child Practice Review"
    assert read_only_value(root, "/contacts/0/added_by")[1].text_content() == "bu"
    assert control(root, "/notes").get("value") == "Some notes"  # editable fields still show what was sent


# ---------------------------------------------------------------------------------------------
# The real task forms, and the sample ones, render and round-trip an example of themselves.

REAL_FORMS = sorted((ROOT / "forms").glob("*.schema.json")) if (ROOT / "forms").is_dir() else []
SAMPLE_FORMS = sorted((SAMPLE / "forms").glob("*.schema.json"))


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part] if part else target
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node if isinstance(node, dict) else {}


def example(node: Any, root: dict[str, Any]) -> Any:
    """A value for ``node`` with every field filled, within its bounds."""
    node = _resolve(node, root)
    consts = [i["const"] for i in node.get("oneOf") or node.get("anyOf") or [] if isinstance(i, dict) and "const" in i]
    choices = [v for v in node.get("enum", consts) if v is not None]
    kind = node.get("type", "object" if "properties" in node else "array" if "items" in node else "string")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if choices:
        return choices[0]
    if kind == "object":
        return {k: example(v, root) for k, v in (node.get("properties") or {}).items()}
    if kind == "array":
        items = _resolve(node.get("items"), root)
        item_choices = items.get("enum") or [i["const"] for i in items.get("oneOf") or [] if "const" in i]
        count = max(node.get("minItems", 1), 1)
        return item_choices[:count] if item_choices else [example(items, root) for _ in range(count)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low, high = node.get("minimum", 1), node.get("maximum", 10**6)
        return max(low, min(high, 3)) if kind == "integer" else float(max(low, min(high, 2.5)))
    special = {"date": "2026-03-02", "email": "someone@example.org", "date-time": "2026-03-02T09:00:00Z"}
    text = special.get(node.get("format"), "Example text")
    return (text * (1 + node.get("minLength", 0) // len(text)))[: node.get("maxLength", 10**6)]


def form_params() -> list[Any]:
    real = [pytest.param(p, id=f"forms/{p.name}") for p in REAL_FORMS] or [
        pytest.param(None, id="forms", marks=pytest.mark.skip(reason=f"no task forms in {ROOT / 'forms'} yet"))
    ]
    return real + [pytest.param(p, id=f"sample/{p.name}") for p in SAMPLE_FORMS]


@pytest.mark.parametrize("path", form_params())
@pytest.mark.parametrize("lang", ["en", "cy"])
def test_every_form_renders_and_round_trips(path: Path, lang: str) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    ui_path = path.with_name(path.name.replace(".schema.json", ".uischema.json"))
    ui = json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.exists() else None
    data = example(schema, schema)
    root = page(schema, data, ui=ui, lang=lang)
    check_wiring(root)
    for el in root.iter("input", "select", "textarea"):
        if el.get("type") not in ("hidden",) and el.get("name") != "_remove":
            assert el.get("id") and (root.xpath(f'.//label[@for="{el.get("id")}"]')), f"{el.get('name')} has no label"
    assert parse_submission(schema, post(root)) == without_read_only(schema, schema, data)


def without_read_only(node: Any, root: dict[str, Any], data: Any) -> Any:
    """What a submission can carry: ``data`` less every read-only field (shown on the page, never read back)
    and every document field (its value comes from the document store, never from the posted text)."""
    node = _resolve(node, root)
    if isinstance(data, dict):
        props = node.get("properties") or {}
        return {
            k: without_read_only(props.get(k), root, v)
            for k, v in data.items()
            if not _resolve(props.get(k), root).get("readOnly") and "x-document" not in _resolve(props.get(k), root)
        }
    if isinstance(data, list):
        return [without_read_only(node.get("items"), root, v) for v in data]
    return data


def test_a_document_field_is_a_file_input_and_its_value_comes_only_from_the_store() -> None:
    schema = json.loads((ROOT / "forms" / "submit_final_report.schema.json").read_text(encoding="utf-8"))
    held = {"document_id": 7, "version": 2, "filename": "final.pdf"}
    root = page(schema, {"final_report_ref": held})
    file_input = control(root, "/final_report_ref")
    assert file_input.get("type") == "file" and ".pdf" in file_input.get("accept")
    assert "final.pdf" in root.text_content() and "version 2" in root.text_content()
    posted = post(root)
    assert parse_submission(schema, posted).get("final_report_ref") is None  # the posted id alone is not a value
    vouched = {"document_id": 7, "version": 2, "filename": "final.pdf"}
    assert parse_submission(schema, posted, documents={"/final_report_ref": vouched})["final_report_ref"] == vouched


# ---------------------------------------------------------------------------------------------
# GOV.UK date input, and radios for choices.


def test_a_date_is_day_month_and_year_boxes_that_post_back_an_iso_date() -> None:
    root = page(CASE, {"referral_date": "2026-03-02"})
    check_wiring(root)
    boxes = [el for el in root.iter("input") if el.get("name") == "/referral_date"]
    assert [(label_of(root, b), b.get("value"), b.get("inputmode")) for b in boxes] == [
        ("Day", "2", "numeric"),
        ("Month", "3", "numeric"),
        ("Year", "2026", "numeric"),
    ]
    assert legend_of(boxes[0]) == "Referral date"
    assert parse_submission(CASE, post(root))["referral_date"] == "2026-03-02"
    boxes[0].set("value", "31")
    boxes[1].set("value", "12")
    assert parse_submission(CASE, post(root))["referral_date"] == "2026-12-31"
    for box in boxes:
        box.set("value", "")
    assert "referral_date" not in parse_submission(CASE, post(root))


def test_a_date_that_does_not_exist_is_kept_as_typed_and_refused_on_its_field() -> None:
    root = page(CASE)
    for box, typed in zip(
        [el for el in root.iter("input") if el.get("name") == "/referral_date"], ["31", "2", "2026"], strict=True
    ):
        box.set("value", typed)
    data = parse_submission(CASE, post(root))
    assert data["referral_date"] == "2026-2-31"
    errors = [
        (list(e.absolute_path), e.validator)
        for e in Draft202012Validator(CASE, format_checker=FormatChecker()).iter_errors(data)
    ]
    assert (["referral_date"], "format") in errors
    again = page(CASE, data, errors={"/referral_date": ["Referral date must be a real date"]})
    assert [b.get("value") for b in again.iter("input") if b.get("name") == "/referral_date"] == ["31", "2", "2026"]
    assert summary_links(again) == [("#f-referral_date", "Referral date must be a real date")]
    assert "Error: Referral date must be a real date" in described_by(
        again, again.xpath(".//fieldset[@role='group']")[0]
    )


def test_choices_are_radios_unless_the_ui_schema_asks_for_a_list() -> None:
    root = page(CASE, {"outcome": "closed"}, ui={})
    radios = [el for el in root.iter("input") if el.get("name") == "/outcome"]
    assert [(r.get("type"), label_of(root, r), r.get("checked") is not None) for r in radios] == [
        ("radio", "Keep open", False),
        ("radio", "Close", True),
    ]
    assert legend_of(radios[0]) == "Outcome"
    assert parse_submission(CASE, post(root))["outcome"] == "closed"
    many = {"type": "object", "properties": {"x": {"type": "string", "enum": [str(n) for n in range(20)]}}}
    assert control(page(many, ui={}), "/x").tag == "select"  # too many to read as radios
