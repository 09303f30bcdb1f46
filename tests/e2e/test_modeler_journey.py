"""Process owners in a real browser: edit the action-plan deadline in the modeler, check, deploy,
and migrate a running review; and every diagram and table survives a load/save round trip in the
editors with its SpiffWorkflow extension elements intact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from lxml import etree

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set, versions
from cprflow.services import modeling
from tests.conftest import ROOT
from tests.e2e.conftest import ARTIFACTS, add_user, sign_in
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, after_day, midnight

BPMN = "processes/child_practice_review.bpmn"
SPIFF = diagram_set.NS["spiffworkflow"]


def open_editor(page: Any, link: str) -> None:
    page.goto("/modeler/")
    page.get_by_role("link", name=link, exact=True).click()
    page.locator("#editor[data-ready=true]").wait_for(timeout=60_000)


def deploy_with_note(page: Any, note: str) -> None:
    page.get_by_text("Deploy my edits").click()
    page.get_by_label("Why are you making these changes?").fill(note)
    page.get_by_role("button", name="Check and deploy").click()


def approved(review: Review) -> Review:
    """Screened, reviewed, drafted and approved by the Board on 15 April: the action plan is next."""
    cpr.to_draft(review)
    cpr.approve_report(review)
    return review


@pytest.fixture
def mid_april() -> Iterator[None]:
    """The web layer reads the clock: put it the day after the Board's approval, and let it run."""
    with time_machine.travel(datetime(2026, 4, 16, 9, tzinfo=UTC), tick=True):
        yield


def test_owner_changes_the_action_plan_deadline_deploys_and_migrates(
    page: Any, live_db: Database, mid_april: None
) -> None:
    add_user(live_db, "olwen", "process_owner")
    running = Review.start(live_db.url, "2026-01-05")  # on version 1: 4 weeks for the action plan

    sign_in(page, "olwen")
    page.get_by_role("link", name="Process design").click()
    open_editor(page, BPMN)
    page.locator('.djs-element[data-element-id="set_timescales"]').click()
    script = page.get_by_label("Script", exact=True)
    text = script.input_value()
    assert text.count('action_plan_period = process_timescales["action_plan"]') == 1
    script.fill(text.replace('action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'))
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("No problems found: ready to deploy.").wait_for()
    deploy_with_note(page, "The Board wants action plans within two weeks")
    page.get_by_text("Deployed as version 2.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "modeler-deployed.png"), full_page=True)
    assert [(v["deployed_by"], v["note"]) for v in services.list_versions(live_db)] == [
        ("olwen", "The Board wants action plans within two weeks"),
        ("owner", None),
    ]

    # A review started now uses the new deadline; the running one keeps the one it started with.
    new = Review.start(live_db.url, "2026-01-05")
    assert (running.view().version_id, new.view().version_id) == (1, 2)
    approved(running)
    approved(new)
    assert (running.data()["action_plan_due"], new.data()["action_plan_due"]) == ("2026-05-13", "2026-04-29")
    assert running.task("finalise_action_plan").due_at == midnight("2026-05-13")

    # The owner reads what changed, then moves the running review to version 2.
    page.goto("/modeler/versions/2")
    assert 'action_plan_period = "P2W"' in page.locator("table.diff").inner_text()
    page.goto("/modeler/versions/2/migrate")
    page.get_by_label(f"Move review {running.id}").check()
    page.get_by_label("Reason (recorded in each review's trace)").fill("Board agreed 2-week action plans")
    page.get_by_role("button", name="Migrate the chosen reviews").click()
    page.get_by_text(f"Review {running.id} moved to version 2.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "modeler-migrated.png"), full_page=True)

    view = running.view()
    assert view.version_id == 2
    assert view.data["action_plan_due"] == "2026-05-13"  # an absolute date: migration leaves it
    assert view.next_timer_at == after_day("2026-05-13")
    [event] = [e for e in running.events() if e.kind == "migrated"]
    assert (event.actor, event.detail["from_version"], event.detail["to_version"]) == ("olwen", 1, 2)
    assert event.detail["reason"] == "Board agreed 2-week action plans"
    assert event.detail["changes"]["elements"]["child_practice_review"]["changed"] == {"set_timescales": ["script"]}


def test_a_check_marks_the_element_at_fault(page: Any, live_db: Database) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    open_editor(page, BPMN)
    page.locator('.djs-element[data-element-id="set_timescales"]').click()
    page.get_by_label("Script", exact=True).fill("completion_due = __import__('os')")
    page.get_by_role("button", name="Check", exact=True).click()
    note = page.locator(".cprflow-problem-note")
    note.wait_for()
    assert "__import__" in note.inner_text()
    assert "cprflow-problem" in page.locator('.djs-element[data-element-id="set_timescales"]').get_attribute("class")
    deploy_with_note(page, "A script that reaches outside the sandbox")
    page.get_by_text("to fix before you can deploy").wait_for()  # refused: it says what stands in the way
    assert len(services.list_versions(live_db)) == 1


def spiff_elements(xml: str) -> dict[str, list[Any]]:
    """Every SpiffWorkflow extension element, by the id of the element it belongs to."""
    root = etree.fromstring(xml.encode())
    found: dict[str, list[Any]] = {}
    for node in root.iter(f"{{{SPIFF}}}*"):
        owner = node.getparent()
        while owner.get("id") is None:
            owner = owner.getparent()
        found.setdefault(owner.get("id"), []).append(
            (etree.QName(node).localname, sorted(node.attrib.items()), (node.text or "").strip())
        )
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "processes").glob("*.bpmn")))
def test_each_diagram_survives_the_modeler_round_trip(page: Any, live_db: Database, name: str) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    path = f"processes/{name}"
    open_editor(page, path)
    saved = page.evaluate("() => window.cprflowModeler.saveXML({format: true}).then(r => r.xml)")
    original = modeling.version_files(live_db, 1)[path]
    assert spiff_elements(saved) == spiff_elements(original)
    [changed] = versions.diff({path: original}, {path: saved}) or [None]
    assert (changed.elements_added, changed.elements_removed, changed.elements_changed) == ([], [], [])
    report = modeling.check_edits(live_db, {path: saved})
    assert report.ok, report.problems
    assert modeling.deploy_edits(live_db, {path: saved}, actor="olwen", now=cpr.at("2026-01-01")).created


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "processes").glob("*.dmn")))
def test_each_decision_table_survives_the_editor_round_trip(page: Any, live_db: Database, name: str) -> None:
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    path = f"processes/{name}"
    open_editor(page, path)
    saved = page.evaluate("() => window.cprflowTable.saveXML({format: true}).then(r => r.xml)")
    original = modeling.version_files(live_db, 1)[path]
    diffs = versions.diff({path: original}, {path: saved})
    assert all((d.elements_added, d.elements_removed, d.elements_changed) == ([], [], []) for d in diffs)
    assert modeling.check_edits(live_db, {path: saved}).ok
