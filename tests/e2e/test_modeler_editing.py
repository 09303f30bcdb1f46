"""Process owners editing in a real browser, keystroke by keystroke: decision-table cells keep what
is typed, undo and keyboard navigation work, and a new row typed from the keyboard checks clean."""

from __future__ import annotations

from typing import Any

from lxml import etree

from cprflow import modeling
from cprflow.repository import Database
from tests.e2e.conftest import ARTIFACTS, add_user
from tests.e2e.test_modeler_journey import open_editor, sign_in

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
