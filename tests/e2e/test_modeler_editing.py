"""Process owners editing in a real browser, keystroke by keystroke: decision-table cells keep what
is typed, undo and keyboard navigation work, and a new row typed from the keyboard checks clean."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from cprflow.core.views import holds_of
from cprflow.db.database import Database
from cprflow.services import drafts, modeling
from tests.e2e.conftest import ARTIFACTS, add_user, sign_in
from tests.e2e.test_modeler_journey import SPIFF, deploy_with_note, open_editor, spiff_elements
from tests.scenarios import cpr
from tests.scenarios.cpr import Review

ROUTE = "processes/cpr_not_statutory_route.dmn"
DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def cell(page: Any, element_id: str) -> Any:
    return page.locator(f'td[data-element-id="{element_id}"]')


def focused_cell(page: Any) -> str | None:
    return page.evaluate(
        "() => { const td = document.activeElement.closest('td'); return td && td.getAttribute('data-coords'); }"
    )


def table_xml(page: Any) -> Any:
    xml = page.evaluate("() => window.cprflowTable.saveXML({format: true}).then(r => r.xml)")
    return etree.fromstring(xml.encode())


def rule_texts(root: Any) -> list[list[str]]:
    return [[(t.text or "").strip() for t in rule.iter(f"{{{DMN}}}text")] for rule in root.iter(f"{{{DMN}}}rule")]


def test_typing_in_a_decision_cell_keeps_every_keystroke(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, ROUTE)
    output = cell(page, "OutputEntry_cpr_not_statutory_route_4_0")
    output.click()
    page.keyboard.press("Control+a")
    page.keyboard.type('"no_review"', delay=30)
    assert output.inner_text().strip() == '"no_review"'
    assert focused_cell(page) == "3:3"  # still in the cell typed into

    page.keyboard.press("Control+z")
    assert output.inner_text().strip() == '"no_review'
    page.keyboard.press("Control+y")
    assert output.inner_text().strip() == '"no_review"'

    page.keyboard.press("Tab")  # to the row's annotation, and back
    assert focused_cell(page) == "3:annotation"
    page.keyboard.press("Shift+Tab")
    assert focused_cell(page) == "3:3"
    assert rule_texts(table_xml(page))[3][-1] == '"no_review"'


def test_a_new_row_is_typed_from_the_keyboard_and_checks_clean(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, ROUTE)
    page.locator("tfoot td.add-rule.input-cell").first.click()  # adds a row, cursor in its first cell
    assert focused_cell(page) == "4:0"
    for text in ("False", "True", "False", '"adult_practice_review"'):
        page.keyboard.press("Control+a")
        page.keyboard.type(text, delay=20)
        page.keyboard.press("Tab")
    page.keyboard.type("Adult at risk and no multi-agency learning", delay=10)
    page.screenshot(path=str(ARTIFACTS / "modeler-dmn-typed-row.png"), full_page=True)

    rules = rule_texts(table_xml(page))
    assert rules[4] == ["False", "True", "False", '"adult_practice_review"']
    xml = page.evaluate("() => window.cprflowTable.saveXML({format: true}).then(r => r.xml)")
    assert "Adult at risk and no multi-agency learning" in xml
    assert "expressionLanguage" not in xml  # cells stay in the engine's Python, marked as nothing else
    assert modeling.check_edits(live_db, {ROUTE: xml}).ok


# ---------------------------------------------------------------------------------------------
# Edits kept on the server: a closed tab, a second tab, discarding


def saved(page: Any) -> None:
    page.locator("#saved-status", has_text="Your edits are saved on the server").wait_for(timeout=15_000)


def test_closing_the_tab_mid_edit_warns_and_still_keeps_the_edit(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, ROUTE)
    cell(page, "OutputEntry_cpr_not_statutory_route_4_0").click()
    page.keyboard.press("Control+a")
    warned: list[str] = []

    def answer(dialog: Any) -> None:
        warned.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.keyboard.type('"no_review"')
    with page.expect_event("close"):
        page.close(run_before_unload=True)  # at once, before the page's own save is due
    assert warned == ["beforeunload"]

    kept = None
    for _ in range(50):  # the save sent as the tab closed lands shortly after
        kept = drafts.get(live_db, "olwen", ROUTE)
        if kept is not None and '"no_review"' in (kept.content or ""):
            break
        time.sleep(0.1)
    assert kept is not None and '"no_review"' in (kept.content or "")


def test_a_second_tab_sees_the_edit_and_a_stale_one_cannot_overwrite_it(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, ROUTE)
    second = page.context.new_page()
    open_editor(second, ROUTE)  # both opened before any edit

    cell(page, "OutputEntry_cpr_not_statutory_route_4_0").click()
    page.keyboard.press("Control+a")
    page.keyboard.type('"from_the_first_tab"')
    saved(page)

    cell(second, "OutputEntry_cpr_not_statutory_route_3_0").click()
    second.keyboard.press("End")
    second.keyboard.type("x")
    second.locator("#saved-status", has_text="saved from another tab or window").wait_for()
    second.screenshot(path=str(ARTIFACTS / "modeler-stale-tab.png"))
    kept = drafts.get(live_db, "olwen", ROUTE)
    assert kept is not None and '"from_the_first_tab"' in (kept.content or "")

    second.get_by_role("button", name="Reload to see those edits").click()
    second.locator("#editor[data-ready=true]").wait_for()
    assert cell(second, "OutputEntry_cpr_not_statutory_route_4_0").inner_text().strip() == '"from_the_first_tab"'


def test_discard_asks_first_and_names_what_will_be_lost(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    v1 = modeling.version_files(live_db, 1)
    form = "forms/notify_welsh_government.schema.json"
    drafts.save(live_db, "olwen", form, v1[form].replace("Notes", "Other notes"), revision=0, now=datetime.now(UTC))
    sign_in(page, "olwen")
    open_editor(page, ROUTE)
    cell(page, "OutputEntry_cpr_not_statutory_route_4_0").click()
    page.keyboard.press("Control+a")
    page.keyboard.type('"no_review"')
    saved(page)

    page.get_by_role("button", name="Discard my edits…").click()
    panel = page.locator("#discard-panel")
    panel.get_by_text("Which edits do you want to discard?").wait_for()
    this_file = panel.get_by_label(re.compile(re.escape(ROUTE) + ", saved"))
    other_file = panel.get_by_label(re.compile(re.escape(form) + ", saved"))
    assert this_file.is_checked() and not other_file.is_checked()  # this page's file, not the others
    page.screenshot(path=str(ARTIFACTS / "modeler-discard.png"))
    panel.get_by_role("button", name="Cancel").click()
    assert len(drafts.listing(live_db, owner="olwen")) == 2  # cancelling loses nothing

    page.get_by_role("button", name="Discard my edits…").click()
    panel.get_by_role("button", name="Discard the edits chosen").click()
    page.locator("#editor[data-ready=true]").wait_for()
    page.locator("#saved-status", has_text="No edits to this file yet.").wait_for()
    assert [d.path for d in drafts.listing(live_db, owner="olwen")] == [form]
    assert cell(page, "OutputEntry_cpr_not_statutory_route_4_0").inner_text().strip() == '"close_with_rationale"'


# ---------------------------------------------------------------------------------------------
# The diagram: zoom, the panel's Welsh names and operators; problems on a table's row

CPR = "processes/child_practice_review.bpmn"


def zoom(page: Any) -> float:
    return float(page.evaluate("() => window.cprflowModeler.get('canvas').zoom()"))


def test_the_large_diagram_opens_readable_and_zooms_from_the_buttons(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    page.set_viewport_size({"width": 1366, "height": 900})
    open_editor(page, CPR)
    assert zoom(page) == 1.0  # fitted, the names would be too small to read
    assert page.locator("#zoom-level").inner_text() == "Zoom: 100%"
    assert page.locator('.djs-element[data-element-id="record_referral"]').is_visible()
    page.get_by_role("button", name="Zoom out").click()
    assert zoom(page) < 1.0 and page.locator("#zoom-level").inner_text() == "Zoom: 80%"
    page.get_by_role("button", name="Fit the whole diagram").click()
    fitted = zoom(page)
    assert fitted < 0.8
    page.get_by_role("button", name="Zoom in").click()
    assert zoom(page) > fitted
    page.get_by_role("button", name="Actual size").click()
    assert zoom(page) == 1.0
    page.screenshot(path=str(ARTIFACTS / "modeler-zoom.png"))


NEW_NAME_CY = "Cofnodi atgyfeiriad yr asiantaeth"


def test_welsh_names_and_operator_parameters_are_edited_in_the_panel(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, CPR)
    page.locator('.djs-element[data-element-id="record_referral"]').click()
    welsh = page.get_by_label("Welsh name")
    assert welsh.input_value() == "Cofnodi'r atgyfeiriad"  # as shipped
    welsh.fill("")
    welsh.press_sequentially(NEW_NAME_CY)  # typed, key by key
    welsh.press("Tab")

    page.locator('.djs-element[data-element-id="tell_subgroup_of_referral"]').click()
    operator = page.get_by_label("Operator", exact=True)
    assert operator.input_value() == "notify"
    assert "Email people (notify)" in operator.inner_text()
    page.get_by_label("role — optional").fill("'board_chair'")
    page.get_by_label("reference — optional").press("Tab")  # left empty: not written
    page.get_by_label("Type of role").select_option("str")
    page.screenshot(path=str(ARTIFACTS / "modeler-operator-panel.png"))
    saved(page)

    xml = drafts.get(live_db, "olwen", CPR).content  # type: ignore[union-attr]
    root = etree.fromstring(xml.encode())
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": SPIFF}
    [name_cy] = root.xpath(
        "//bpmn:userTask[@id='record_referral']//spiffworkflow:property[@name='nameCy']/@value", namespaces=ns
    )
    assert name_cy == NEW_NAME_CY
    params = {
        p.get("id"): (p.get("type"), p.get("value"))
        for p in root.xpath(
            "//bpmn:serviceTask[@id='tell_subgroup_of_referral']//spiffworkflow:parameter", namespaces=ns
        )
    }
    assert params["role"] == ("str", "'board_chair'")
    assert params["template"] == ("str", "'referral_received'")  # the others kept as they were
    assert "reference" in params and "lane" not in params
    # Every other property of the task survives, and the set still checks clean.
    before = spiff_elements(modeling.version_files(live_db, 1)[CPR])
    after = spiff_elements(xml)
    edited = ("record_referral", "notify")  # parameters belong to their operator element, named by its id
    assert {k: v for k, v in after.items() if k not in edited} == {k: v for k, v in before.items() if k not in edited}
    shipped = ("property", [("name", "nameCy"), ("value", "Cofnodi'r atgyfeiriad")], "")
    renamed = ("property", [("name", "nameCy"), ("value", NEW_NAME_CY)], "")
    assert after["record_referral"] == [renamed if x == shipped else x for x in before["record_referral"]]
    expected = list(before["notify"])
    old_role = ("parameter", [("id", "role"), ("type", "str"), ("value", "'review_subgroup'")], "")
    expected[expected.index(old_role)] = (
        "parameter",
        [("id", "role"), ("type", "str"), ("value", "'board_chair'")],
        "",
    )
    assert after["notify"] == expected  # only the role changed, among every operator's parameters
    assert modeling.check_edits(live_db, {CPR: xml}).ok


def test_a_table_problem_is_marked_on_its_row(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, "processes/cpr_review_type.dmn")
    page.locator("tfoot td.add-rule.input-cell").first.click()  # row 6 matches whatever row 1 does
    page.keyboard.press("Control+a")
    page.keyboard.type("False")
    saved(page)
    page.get_by_role("button", name="Check", exact=True).click()
    problem = page.locator("#outcome li", has_text="can both match")
    problem.wait_for()
    assert problem.inner_text().startswith("Row 6:")
    # One problem is said as one, and a check (not a deploy) does not speak of deploying having failed.
    assert page.locator("#outcome p").first.inner_text() == "There is 1 problem to fix before you can deploy."
    new_row = page.locator("td.rule-index").nth(5)
    assert new_row.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 224, 220)"
    page.screenshot(path=str(ARTIFACTS / "modeler-dmn-problem-row.png"), full_page=True)
    problem.get_by_role("button", name="Go to the row").click()
    assert focused_cell(page) is not None and focused_cell(page).startswith("5:")  # type: ignore[union-attr]


def test_the_field_list_renames_retypes_requires_and_reorders_a_field(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    page.goto("/modeler/form?name=notify_welsh_government")
    page.locator("#editor[data-ready=true]").wait_for()
    page.get_by_role("button", name="Edit notes").click()
    name = page.get_by_label("Name in the data")
    name.fill("Bad Name")
    name.press("Tab")
    page.get_by_text("Enter a name of lower-case letters, digits and underscores").wait_for()
    name.fill("follow_up")
    name.press("Tab")  # renamed; the keyboard carries on at the type
    page.get_by_label("Type").select_option("choice")
    choices = page.get_by_label("Choices")
    choices.fill("phone | By phone | Dros y ffôn\nletter | By letter | Drwy lythyr")
    choices.press("Tab")
    page.get_by_label("People must answer it").check()
    page.get_by_role("button", name="Move up: follow_up").click()
    saved(page)
    page.screenshot(path=str(ARTIFACTS / "modeler-field-list.png"), full_page=True)

    schema = json.loads(page.locator("#schema").input_value())
    ui = json.loads(page.locator("#ui_schema").input_value())
    field = schema["properties"]["follow_up"]
    assert "notes" not in schema["properties"] and "follow_up" in schema["required"]
    assert (field["enum"], field["x-enumNames"], field["x-enumNames-cy"]) == (
        ["phone", "letter"],
        ["By phone", "By letter"],
        ["Dros y ffôn", "Drwy lythyr"],
    )
    assert ui["ui:order"][-3:] == ["follow_up", "wg_reference", "*"]  # moved up one place
    assert ui["follow_up"]["ui:widget"] == "radio" and "notes" not in ui
    page.locator("#preview", has_text="By letter").wait_for()
    form = "forms/notify_welsh_government"
    edits = {d.path: d.content or "" for d in drafts.listing(live_db, owner="olwen", content=True)}
    assert set(edits) == {f"{form}.schema.json", f"{form}.uischema.json"}
    assert modeling.check_edits(live_db, edits).ok


def test_the_start_events_form_is_edited_in_the_panel(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, CPR)
    page.locator('.djs-element[data-element-id="referral_received"]').click()
    form = page.get_by_label("Start form (JSON Schema file)")
    assert form.input_value() == "start_child_practice_review.schema.json"  # as shipped
    assert page.get_by_label("UI schema file").input_value() == "start_child_practice_review.uischema.json"
    form.fill("start_review.schema.json")
    form.press("Tab")
    saved(page)
    xml = drafts.get(live_db, "olwen", CPR).content  # type: ignore[union-attr]
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": SPIFF}
    found = etree.fromstring(xml.encode()).xpath(
        "//bpmn:startEvent[@id='referral_received']//spiffworkflow:property[@name='formJsonSchemaFilename']/@value",
        namespaces=ns,
    )
    assert found == ["start_review.schema.json"]


def test_a_kind_of_hold_added_to_the_message_form_is_offered_on_the_case_page(
    page: Any, live_server: str, live_db: Database
) -> None:
    """The hold's kinds are the process owner's to change: from the message forms of the process
    design, typed into the choices, deployed, and offered to the Business Unit on a new review."""
    add_user(live_db, "olwen", "process_owner")
    add_user(live_db, "bu", "business_unit")
    sign_in(page, "olwen")
    page.goto("/")  # a process owner starts at the process design
    page.get_by_role("heading", level=1, name="Process design").wait_for()
    page.get_by_role("link", name="hold_started", exact=True).click()
    page.locator("#editor[data-ready=true]").wait_for()
    page.get_by_role("heading", level=1, name="Message form: hold_started").wait_for()
    assert page.locator("#ui_schema").count() == 0  # a message has no UI schema to edit
    page.get_by_role("button", name="Edit type").click()
    choices = page.get_by_label("Choices")
    choices.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("police | Police investigation | Ymchwiliad yr heddlu", delay=5)
    page.keyboard.press("Tab")
    saved(page)
    assert [d.path for d in drafts.listing(live_db, owner="olwen")] == ["forms/hold_started.message.json"]
    deploy_with_note(page, "Boards hold reviews for police investigations too")
    page.get_by_text("Deployed as version 2.").wait_for()

    review = Review.start(live_db.url, "2026-01-05")  # on version 2
    cpr.to_decision(review, decide="concise", identifiers={"child_reference": "CPR-E2E-HOLD"})
    review.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    other = page.context.browser.new_context(base_url=live_server).new_page()
    sign_in(other, "bu")
    other.goto(f"/reviews/{review.id}/holds")
    other.get_by_label("Police investigation").check()
    other.get_by_label("Publication").check()
    other.get_by_label("Why the review is on hold").fill("Investigation open")
    other.get_by_role("button", name="Start the hold").click()
    other.get_by_role("alert").filter(has_text="Hold started.").wait_for()
    row = other.locator("tr", has_text="H1").inner_text()
    assert "Police investigation" in row and "Publication" in row
    assert [h["type"] for h in holds_of(review.data())] == ["police"]
