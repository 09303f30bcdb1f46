"""Browser journey in Debian's Chromium: from the final report to publication, through the anonymisation check.

The review is brought to the final report through the services (the scenario driver, real diagrams);
everything after that happens in the pages: the Business Unit uploads a final report that names the
child and the school and the 7-minute briefing; the check's findings show on the review page; the lead
reviewer uploads a corrected report and justifies the school; the check passes and the Business Unit
publishes; then anyone on the staff finds the review's learning by theme in the findings repository,
where it was filed when the Board approved the report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cprflow import services
from cprflow.db.database import Database
from tests.e2e.conftest import add_user, sign_in
from tests.e2e.test_staff_journey import as_another_person, open_task, shot, text_of
from tests.fixtures import files
from tests.scenarios import cpr

SUBMIT = "Submit the final report to Welsh Government"
PREPARE = "Prepare for publication"
RESOLVE = "Resolve the anonymisation findings"
PUBLISH = "Publish the report"
APPROVE_CHANGED = "Approve the changed report"
IDENTIFIERS = {"child_name": "Jamie Pritchard", "schools": [{"name": "Ysgol Gynradd Llanfair"}]}


def _review_at_final_report(db: Database) -> int:
    r = cpr.Review.start(db.url)
    cpr.to_draft(r, identifiers=IDENTIFIERS)
    cpr.approve_report(r)
    assert SUBMIT in [t.name for t in r.tasks()]
    return r.id


def fill_date(page: Any, legend: str, iso: str) -> None:
    """A GOV.UK date input: day, month and year in the group named by its legend."""
    group = page.get_by_role("group", name=legend)
    for part, typed in zip(("Year", "Month", "Day"), iso.split("-"), strict=True):
        group.get_by_label(part).fill(typed)


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def _findings(page: Any) -> Any:
    return page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Text found"))


def _documents_of_the_case(page: Any, review_id: int) -> None:
    """After a completion the case page opens; its Documents section lists files and findings."""
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    page.locator("nav.moj-sub-navigation").get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Documents", exact=True).and_(page.locator("[aria-current=page]")).wait_for()


def test_a_reviewer_resolves_the_anonymisation_findings_and_the_review_is_published(
    page: Any, live_server: str, live_db: Database, tmp_path: Path
) -> None:
    add_user(live_db, "bu", "business_unit")
    add_user(live_db, cpr.LEAD, "reviewer")
    add_user(live_db, "board", "board_member")
    review_id = _review_at_final_report(live_db)
    today = date.today().isoformat()

    # --- The Business Unit uploads the final report, then the briefing ---------------------------------
    sign_in(page, "bu")
    open_task(page, SUBMIT)
    report = files.docx("Final report", "Jamie was known to Ysgol Gynradd Llanfair from 2024.", "Agencies shared late.")
    page.locator('input[type="file"][name="/final_report_ref"]').set_input_files(_file(tmp_path, "final.docx", report))
    fill_date(page, "Date submitted", today)
    page.get_by_role("button", name="Complete").click()
    _documents_of_the_case(page, review_id)
    documents = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="File"))
    assert "final.docx" in text_of(documents)

    page.goto("/tasks")
    open_task(page, PREPARE)
    briefing = files.pdf("7-minute briefing", "Share concerns early.")
    page.locator('input[type="file"][name="/seven_minute_briefing_ref"]').set_input_files(
        _file(tmp_path, "briefing.pdf", briefing)
    )
    fill_date(page, "Date checked", today)
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    assert RESOLVE in text_of(page.locator("main"))  # the lead reviewer acts next

    # The check ran: two open findings in the case's documents.
    _documents_of_the_case(page, review_id)
    findings = _findings(page)
    rows = text_of(findings)
    assert "Jamie" in rows and "Ysgol Gynradd Llanfair" in rows and rows.count("Open") == 2
    shot(page, "publication-01-findings-on-the-review-page")

    # --- The lead reviewer uploads a corrected report and justifies the school --------------------------
    reviewer = as_another_person(page, live_server)
    try:
        sign_in(reviewer, cpr.LEAD)
        open_task(reviewer, RESOLVE)
        shown = reviewer.get_by_role("table").filter(has=reviewer.get_by_role("columnheader", name="Text found"))
        school_row = shown.get_by_role("row").filter(
            has=reviewer.get_by_role("cell", name="Ysgol Gynradd Llanfair", exact=True)
        )
        school_id = text_of(school_row.get_by_role("cell").first)
        assert school_id.startswith("F")
        corrected = files.docx(
            "Final report", "Child A was known to Ysgol Gynradd Llanfair from 2024.", "Agencies shared late."
        )
        reviewer.locator('input[type="file"][name="/final_report_ref"]').set_input_files(
            _file(tmp_path, "final-v2.docx", corrected)
        )
        justification = reviewer.get_by_role("group", name="Justification 1", exact=True)
        justification.get_by_label("Finding number").fill(school_id)
        justification.get_by_label("Reason").fill("The school's own review is public; the Board agreed to name it.")
        shot(reviewer, "publication-02-reviewer-resolves")
        reviewer.get_by_role("button", name="Complete").click()
        reviewer.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
        assert reviewer.get_by_role("alert").get_by_role("heading", name=f"Done: {RESOLVE}").is_visible()
        # The corrected report is not the one the Board approved: it goes back to the Board first.
        assert APPROVE_CHANGED in text_of(reviewer.locator("main"))
        _documents_of_the_case(reviewer, review_id)
        decided = text_of(_findings(reviewer))
        assert "Open" not in decided and "Resolved" in decided and "Justified" in decided
        shot(reviewer, "publication-03-findings-resolved")
    finally:
        reviewer.context.close()

    # --- The Board approves the changed report; it goes to Welsh Government again -----------------------
    board = as_another_person(page, live_server)
    try:
        sign_in(board, "board")
        open_task(board, APPROVE_CHANGED)
        fill_date(board, "Date the Board approved the changed version", today)
        board.get_by_role("button", name="Complete").click()
        board.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    finally:
        board.context.close()
    page.goto("/tasks")
    open_task(page, SUBMIT)
    fill_date(page, "Date submitted", today)
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    page.goto("/tasks")
    open_task(page, PREPARE)
    fill_date(page, "Date checked", today)
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    assert PUBLISH in text_of(page.locator("main"))

    # --- The Business Unit publishes ------------------------------------------------------------------
    page.goto("/tasks")
    open_task(page, PUBLISH)
    fill_date(page, "Date published", today)
    page.get_by_label("Web address").fill("https://ctmsafeguarding.example/cpr/e2e")
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    assert page.get_by_role("alert").get_by_role("heading", name=f"Done: {PUBLISH}").is_visible()
    shot(page, "publication-04-published")
    data = services.get_instance(live_db, review_id).data
    assert data["publication_status"] == "published" and data["anonymisation_check_passed"] is True
    assert data["final_report_ref"]["filename"] == "final-v2.docx"

    # --- The learning travels: the review is found by theme in the findings repository -----------------
    page.get_by_role("link", name="Learning").click()
    page.get_by_role("heading", name="Findings repository", level=1).wait_for()
    page.get_by_role("checkbox", name="Professional curiosity").check()
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="1 review found").wait_for()
    assert page.get_by_text(cpr.FINDINGS[0]["finding"]).is_visible()
    assert "Jamie" not in text_of(page.locator("main"))  # learning travels, names do not
    shot(page, "publication-05-found-by-theme")
