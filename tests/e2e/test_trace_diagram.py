"""An auditor opens a review's trace in a real browser and sees the diagram marked by the server's data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cprflow import services
from cprflow.db.database import Database
from tests.e2e.conftest import ARTIFACTS, PASSWORD, add_user
from tests.scenarios import cpr


def test_auditor_sees_the_trace_diagram_marked(page: Any, live_server: str, live_db: Database) -> None:
    add_user(live_db, "auditor", "auditor")
    now = datetime.now(UTC)
    view = services.start_instance(live_db, "child_practice_review", cpr.start_data(), actor="bu", now=now)
    record = next(t for t in view.open_tasks if t.bpmn_id == "record_referral")
    view = services.complete_task(live_db, record.id, cpr.referral(now.date().isoformat()), actor="bu", now=now)
    assert [t.bpmn_id for t in view.open_tasks] == ["screen_referral"]

    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/login")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/reviews/{view.id}/trace")
    # named by the case reference the referral gave, as the register and case page name it
    page.get_by_role("heading", level=1, name="Trace of CPR-2026-017").wait_for()
    page.locator("#trace-diagram[data-marked='true']").wait_for(timeout=20_000)

    def classes(element_id: str) -> str:
        return str(
            page.locator(f"#trace-diagram svg g.djs-element[data-element-id='{element_id}']").first.get_attribute(
                "class"
            )
        )

    assert "cpr-completed" in classes("record_referral")
    assert "cpr-active" in classes("screen_referral")
    assert "cpr-completed" not in classes("screen_referral")
    assert page.locator("#trace-diagram svg g.djs-element.cpr-path").count() >= 1
    # the marker colours come from the stylesheet (no inline style is allowed): the fill is applied
    fill = page.locator("#trace-diagram svg g[data-element-id='screen_referral'] .djs-visual > rect").first.evaluate(
        "el => getComputedStyle(el).fill"
    )
    assert fill == "rgb(255, 221, 0)"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trace-diagram.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_on_a_phone_each_event_of_the_timeline_reads_top_to_bottom(
    page: Any, live_server: str, live_db: Database
) -> None:
    """At 375 px the timeline's columns would leave the data off screen, a row of empty height per
    event: each event stacks instead, its data under the column's name, and the filter dates are
    typed as day, month and year."""
    add_user(live_db, "auditor", "auditor")
    now = datetime.now(UTC)
    view = services.start_instance(live_db, "child_practice_review", cpr.start_data(), actor="bu", now=now)
    record = next(t for t in view.open_tasks if t.bpmn_id == "record_referral")
    services.complete_task(live_db, record.id, cpr.referral(now.date().isoformat()), actor="bu", now=now)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/login")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/reviews/{view.id}/trace")
    page.get_by_label("Day").first.press_sequentially(str(now.day))
    page.get_by_label("Month").first.press_sequentially(str(now.month))
    page.get_by_label("Year").first.press_sequentially(str(now.year))
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert f"since={now.day}&since={now.month}&since={now.year}" in page.url
    row = page.locator("table.timeline tbody tr").nth(1)  # the referral: a long list of data it set
    data = row.locator("td").nth(3)
    assert data.evaluate("e => getComputedStyle(e, '::before').content") == '"Data submitted or changed"'
    box, what = data.bounding_box(), row.locator("td").nth(2).bounding_box()
    assert box is not None and what is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375  # all of it on screen, no sideways scroll
    assert box["y"] > what["y"]  # under what happened, not beside it
