"""A review's first steps as staff live them, in a real browser: record the referral, screen it, see the
6-month clock, then read it all in Welsh. Screenshots of each milestone go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from cprflow import services
from cprflow.db.database import Database
from tests.e2e.conftest import ARTIFACTS, add_months, add_user, sign_in
from tests.scenarios import cpr

RECORD = "Record the referral"
SCREEN = "Screen the referral against the criteria"
DECIDE = "Record the Board's decision"


def start_review(db: Database) -> int:
    # Started as the Business Unit would, with the start form's answers (tests/e2e/test_start_journey.py
    # starts one through the pages); everything after that is done through the pages.
    return services.start_instance(db, "child_practice_review", cpr.start_data(), actor="bu", now=datetime.now(UTC)).id


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def as_another_person(page: Any, live_server: str) -> Any:
    """A fresh browser context (own cookies): a colleague at another desk."""
    return page.context.browser.new_context(base_url=live_server).new_page()


def open_task(page: Any, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def text_of(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def fill_date(scope: Any, legend: str, day: date) -> None:
    """A GOV.UK date input: the day, month and year boxes of the group named by its legend."""
    group = scope.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def fill_referral(page: Any, referral: date, event: date, *, with_referral_date: bool = True) -> None:
    page.get_by_label("Child's reference").fill("CPR-E2E-001")
    page.get_by_role("textbox", name="Board area").fill("Cwm Taf Morgannwg")
    page.get_by_label("Abuse or neglect known or suspected within this Board's area").check()
    page.get_by_label("Referring agency").fill("South Wales Police")
    if with_referral_date:
        fill_date(page, "Date referred to the Review Sub-Group", referral)
    else:  # the start form's answer, filled in, is taken out
        for box in ("Day", "Month", "Year"):
            page.get_by_role("group", name="Date referred to the Review Sub-Group").get_by_label(box).fill("")
    fill_date(page, "Reference date", event)
    page.get_by_role("radio", name="Life-threatening injury").check()
    page.get_by_label("Abuse or neglect known or suspected", exact=True).check()
    page.get_by_label("Summary of the referral").fill("Referred by the police after an admission to hospital.")
    page.get_by_role(
        "radio", name="Keep as a Child Practice Review (transitional, agreed with Welsh Government)"
    ).check()
    first = page.get_by_role("group", name="Agency 1", exact=True)
    first.get_by_role("combobox", name="Agency").select_option("police")  # from processes/agencies.json
    first.get_by_role("textbox", name="Contact", exact=True).fill("DS Morgan")
    first.get_by_role("textbox", name="Contact email").fill("morgan@police.example")


def test_referral_to_screening_then_the_six_month_clock_in_english_and_welsh(
    page: Any, live_server: str, live_db: Database
) -> None:
    add_user(live_db, "bu", "business_unit")
    add_user(live_db, "rsg", "review_subgroup")
    add_user(live_db, "chair", "board_chair")
    review_id = start_review(live_db)
    referral = date.today() - timedelta(days=3)
    referral = referral.replace(day=min(referral.day, 28))
    event = referral - timedelta(days=10)
    completion_due = add_months(referral, 6)

    # --- The Business Unit records the referral --------------------------------------------------
    sign_in(page, "bu")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=RECORD, exact=True))
    # the task with its lane beneath, and the review by its case reference, linking to its page
    assert text_of(row.get_by_role("cell").first) == f"{RECORD} Business Unit"
    review_link = row.get_by_role("cell").nth(1).get_by_role("link")
    assert text_of(review_link) == cpr.start_data()["child_reference"]
    assert review_link.get_attribute("href") == f"/reviews/{review_id}"
    shot(page, "01-business-unit-my-tasks")
    open_task(page, RECORD)
    back = page.locator(".govuk-back-link")  # back to the case, by the reference the list showed
    assert (
        text_of(back) == cpr.start_data()["child_reference"] and back.get_attribute("href") == f"/reviews/{review_id}"
    )
    fill_referral(page, referral, event)
    # A second agency: "Add another" gives a blank row and keeps everything typed so far.
    page.get_by_role("group", name="Agencies involved").get_by_role("button", name="Add another").click()
    second = page.get_by_role("group", name="Agency 2", exact=True)
    second.get_by_role("combobox", name="Agency").wait_for()
    assert page.get_by_label("Child's reference").input_value() == "CPR-E2E-001"
    kept = page.get_by_role("group", name="Date referred to the Review Sub-Group")
    assert kept.get_by_label("Day").input_value() == str(referral.day)
    assert (
        page.get_by_role("group", name="Agency 1", exact=True).get_by_role("combobox", name="Agency").input_value()
        == "police"
    )
    second.get_by_role("combobox", name="Agency").select_option("health")
    second.get_by_role("textbox", name="Contact", exact=True).fill("Dr Evans")
    shot(page, "02-referral-form-filled")
    page.get_by_role("button", name="Complete").click()

    page.locator(".moj-identity-bar").wait_for()  # the case page, headed by the case's reference
    assert page.get_by_role("alert").get_by_role("heading", name=f"Done: {RECORD}").is_visible()
    review_url = page.url
    assert review_url.endswith(f"/reviews/{review_id}")
    assert SCREEN in text_of(page.locator("main"))  # who acts next
    shot(page, "03-referral-recorded-review-page")

    # --- The Review Sub-Group screens it ---------------------------------------------------------
    rsg = as_another_person(page, live_server)
    try:
        sign_in(rsg, "rsg")
        assert rsg.get_by_role("link", name=RECORD, exact=True).count() == 0  # not their lane
        open_task(rsg, SCREEN)
        # the referral's answers are already there to confirm or correct
        assert rsg.get_by_label("Abuse or neglect known or suspected within this Board's area").is_checked()
        assert rsg.get_by_label("Abuse or neglect known or suspected", exact=True).is_checked()
        assert rsg.get_by_role("radio", name="Life-threatening injury").is_checked()
        assert not rsg.get_by_label("On the child protection register or looked after").is_checked()
        requests = rsg.get_by_role("group", name="Request 1", exact=True)
        requests.get_by_role("textbox", name="Agency").fill("health")
        requests.get_by_role("textbox", name="Information").fill("Health visitor records for the last year")
        fill_date(requests, "Date requested", referral)
        rsg.get_by_label("Multi-agency learning is available").check()
        rsg.get_by_label("Screening notes").fill("Criteria met: abuse suspected, life-threatening injury.")
        rsg.get_by_label("Recommendation to the Board").fill("A concise Child Practice Review.")
        shot(rsg, "04-screening-form-filled")
        rsg.get_by_role("button", name="Complete").click()
        # whoever works a task opens its review: the Sub-Group lands on the review it screened
        rsg.locator(".moj-identity-bar").wait_for()
        assert rsg.get_by_role("alert").get_by_role("heading", name=f"Done: {SCREEN}").is_visible()
        rsg.get_by_role("link", name="My tasks").click()
        rsg.get_by_text("Nothing is waiting for you.").wait_for()
        shot(rsg, "05-screening-done-my-tasks")
    finally:
        rsg.context.close()

    # --- Back at the Business Unit: the review page shows the 6-month clock --------------------------
    page.goto(review_url)
    main = text_of(page.locator("main"))
    assert "In progress" in main and SCREEN not in main  # screening is done; the Board Chair acts next
    assert page.get_by_role("listitem").filter(has_text=DECIDE).inner_text().strip() == f"{DECIDE} (Review decision)"
    page.get_by_role("link", name="Timescales", exact=True).last.click()
    timescales = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Due date"))
    completion = timescales.get_by_role("row").filter(has_text="Review completed (6 months from referral)")
    cells = completion.get_by_role("cell")
    assert text_of(cells.nth(1)) == f"{completion_due.day} {completion_due:%B} {completion_due.year}"
    assert text_of(cells.nth(2)) == f"Due in {(completion_due - date.today()).days} days"
    shot(page, "06-review-page-six-month-due-date")

    # --- Cymraeg -------------------------------------------------------------------------------
    page.get_by_role("button", name="Cymraeg").click()
    page.get_by_role("heading", level=2, name="Amserlenni").wait_for()
    assert page.locator("html").get_attribute("lang") == "cy"
    assert page.get_by_role("link", name="Fy nhasgau").is_visible()
    assert page.get_by_role("heading", name="Amserlenni").is_visible()
    assert page.get_by_role("button", name="English").is_visible()
    welsh_table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Dyddiad dyledus"))
    welsh_month = "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr".split()
    assert f"{completion_due.day} {welsh_month[completion_due.month - 1]} {completion_due.year}" in text_of(welsh_table)
    shot(page, "07-review-page-welsh")

    # A task page in Welsh: the Board Chair, next to act, switches language and opens the decision.
    chair = as_another_person(page, live_server)
    try:
        sign_in(chair, "chair")
        chair.get_by_role("button", name="Cymraeg").click()
        chair.get_by_role("heading", level=1, name="Fy nhasgau").wait_for()
        open_task(chair, "Cofnodi penderfyniad y Bwrdd")  # the task's Welsh name, from the diagram (nameCy)
        assert text_of(chair.locator(".govuk-back-link")) == "CPR-E2E-001"  # the case by its reference, in Welsh too
        assert chair.get_by_role("button", name="Cwblhau").is_visible()
        assert chair.get_by_role("button", name="Cadw drafft").is_visible()
        # labels from x-title-cy, help from x-description-cy, choices from x-enumNames-cy
        decision = chair.get_by_role("group", name="Penderfyniad (gofynnol)")
        assert decision.get_by_role("radio", name="Adolygiad cryno").is_visible()
        assert chair.get_by_role("textbox", name="Rhesymeg (gofynnol)").is_visible()
        assert chair.get_by_text("Pam y penderfynodd y Bwrdd hyn.").is_visible()
        # the review type the screening produced is shown, read-only, in Welsh: a concise review
        review_type = chair.locator("dl.cpr-readonly").filter(has_text="Math o adolygiad yn ôl y meini prawf")
        assert text_of(review_type.locator(".cpr-value")) == "Cryno"
        form = text_of(chair.locator("form").filter(has=chair.get_by_role("button", name="Cwblhau")))
        assert "(required)" not in form and "Select an option" not in form
        shot(chair, "08-board-chair-task-welsh")
    finally:
        chair.context.close()


def test_a_referral_missing_a_required_answer_is_refused_and_nothing_is_completed(page: Any, live_db: Database) -> None:
    add_user(live_db, "bu", "business_unit")
    review_id = start_review(live_db)
    referral = date.today() - timedelta(days=3)

    sign_in(page, "bu")
    open_task(page, RECORD)
    fill_referral(page, referral, referral - timedelta(days=10), with_referral_date=False)
    page.get_by_role("button", name="Complete").click()

    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert summary.get_by_role("heading", name="There is a problem").is_visible()
    link = summary.get_by_role("link", name="Enter date referred to the Review Sub-Group")
    assert link.get_attribute("href") == "#f-referral_date"
    date_group = page.get_by_role("group", name="Date referred to the Review Sub-Group")
    assert date_group.get_by_label("Day").get_attribute("aria-invalid") == "true"
    error = page.locator('[id="f-referral_date.error"]')
    assert text_of(error) == "Error: Enter date referred to the Review Sub-Group"
    assert error.get_attribute("id") in (date_group.get_attribute("aria-describedby") or "").split()
    # what was typed is kept, and the other answers carry no error
    assert page.get_by_label("Child's reference").input_value() == "CPR-E2E-001"
    assert page.locator(".govuk-error-message").count() == 1
    link.click()  # the summary takes you to the field (govuk-frontend's error summary moves the focus there)
    assert date_group.evaluate("group => group.contains(document.activeElement)")
    shot(page, "09-referral-refused-error-summary")

    # Nothing moved on: the task is still in My tasks and the review still waits for it.
    page.get_by_role("link", name="My tasks").click()
    page.get_by_role("heading", level=1, name="My tasks").wait_for()  # the list, not the task page it left
    assert page.get_by_role("link", name=RECORD, exact=True).is_visible()
    view = services.get_instance(live_db, review_id)
    assert [t.name for t in view.open_tasks] == [RECORD]
    assert view.data["referral_date"] == cpr.start_data()["referral_date"] and "completion_due" not in view.data
