"""In Debian's Chromium: the Case Review Group signs off a SUSR with its themes, and a colleague at
another Board finds the review's learning by theme and sees it in the trend charts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cprflow import services
from cprflow.core import document_fields
from cprflow.db.database import Database
from cprflow.features import documents
from tests.e2e.conftest import add_user, sign_in
from tests.e2e.test_staff_journey import open_task, shot
from tests.fixtures import files
from tests.scenarios import cpr, test_susr

SIGN_OFF = "Sign off the report and action plan"


def to_sign_off(db: Database) -> int:
    """A SUSR walked to the Case Review Group's sign-off through the services (not what this test is about)."""
    now = datetime.now(UTC)
    view = services.start_instance(db, cpr.SUSR, cpr.start_data("2026-01-05", cpr.SUSR), actor="bu", now=now)
    steps = [
        ("susr_record_referral", test_susr.susr_referral("2026-01-05")),
        ("susr_case_review_group", test_susr.CRG),
        ("susr_board_chair_decision", test_susr.CHAIR),
        ("susr_notify_welsh_government", test_susr.NOTIFY),
        ("susr_appoint_reviewers", test_susr.APPOINT),
        ("accept_appointment", {"appointment_response": "accept", "independence_declared": True}),
        ("family_involvement", test_susr.FAMILY_DECLINED),
        ("learning_event", test_susr.LEARNING),
        ("draft_report", test_susr.DRAFT),
    ]
    for bpmn_id, data in steps:
        task = next(t for t in services.list_tasks(db, instance_id=view.id) if t.bpmn_id == bpmn_id)
        if bpmn_id == "draft_report":  # the draft is a file in the document store, named by reference
            with db.transaction() as session:
                draft = documents.store(
                    session,
                    instance_id=view.id,
                    slot="draft_report",
                    filename="draft.pdf",
                    data=files.pdf("Draft report"),
                    actor="someone",
                    now=now,
                    text_now=True,
                )
            data = {**data, "draft_report_ref": document_fields.reference(draft)}
        services.complete_task(db, task.id, data, actor="someone", now=now)
    return view.id


def test_sign_off_with_themes_then_find_the_learning_by_theme(page: Any, live_db: Database) -> None:
    add_user(live_db, "crg", "review_subgroup")
    add_user(live_db, "police1", "agency", agency="police")
    to_sign_off(live_db)

    sign_in(page, "crg")
    open_task(page, SIGN_OFF)
    page.get_by_role("radio", name="Sign off the report and action plan").check()
    page.get_by_role("checkbox", name="Domestic abuse").check()
    page.get_by_role("checkbox", name="Information sharing").check()
    decided = page.get_by_role("group", name="Date of the decision")
    for part, typed in (("Day", "10"), ("Month", "4"), ("Year", "2026")):
        decided.get_by_label(part).fill(typed)
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name="Review #").wait_for()
    shot(page, "findings-01-signed-off")

    # An agency practitioner elsewhere finds the learning by theme.
    colleague = page.context.browser.new_context(base_url=page.url.split("/reviews")[0]).new_page()
    sign_in(colleague, "police1")
    colleague.get_by_role("link", name="Learning").click()
    colleague.get_by_role("heading", name="Findings repository", level=1).wait_for()
    colleague.get_by_role("checkbox", name="Domestic abuse").check()
    colleague.get_by_role("button", name="Search").click()
    colleague.get_by_role("heading", name="1 review found").wait_for()
    assert colleague.get_by_text("Agencies did not share escalating concerns about coercive control.").is_visible()
    shot(colleague, "findings-02-found-by-theme")
    colleague.get_by_role("link", name="Trends").click()
    # wait for the trends page itself: counting straight after the click counted the page before it
    colleague.get_by_role("heading", name="Trends in the findings repository", level=1).wait_for()
    assert colleague.locator("svg.cpr-chart").count() == 3
    assert colleague.get_by_role("img", name="Reviews by theme").is_visible()
    shot(colleague, "findings-03-trends")
