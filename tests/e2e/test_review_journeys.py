"""Whole reviews driven only through the pages, each step by the person whose lane it is.

A concise review goes from referral to closure after its first audit cycle; an extended review goes
up to both reviewers accepting. Everyone signs in as the demo account for their role
(``cprflow.demo.cases.ACCOUNTS``), opens the task from their task list, fills the form from the
keyboard and submits; after each step the test reads what that person sees. The one thing not done
in a page is the passing of time: ``cprflow timers run --at`` fires the publication and audit timers,
as the timer worker would when their day comes. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from cprflow.cli import main
from cprflow.db.database import Database
from cprflow.demo.cases import ACCOUNTS
from tests.e2e.conftest import ARTIFACTS, PASSWORD, add_months, add_user, sign_in
from tests.fixtures import files
from tests.scenarios import cpr
from tests.scenarios.cpr import Review

TODAY = date.today()
REFERRAL = TODAY - timedelta(days=20)
EVENT = TODAY - timedelta(days=40)
REFERENCE = "CPR-E2E-314"


def text_of(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


class Desks:
    """One browser context per person (their own cookies), signed in once as their demo account."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.pages: dict[str, Any] = {}

    def __call__(self, username: str) -> Any:
        if username not in self.pages:
            page = self.browser.new_context(base_url=self.base_url).new_page()
            page.set_default_timeout(10_000)
            sign_in(page, username)
            self.pages[username] = page
        return self.pages[username]


@pytest.fixture
def desks(page: Any, live_server: str, live_db: Database) -> Iterator[Desks]:
    for username, roles, agency in ACCOUNTS:
        add_user(live_db, username, *roles, agency=agency)
    people = Desks(page.context.browser, live_server)
    try:
        yield people
    finally:
        for username, other in people.pages.items():
            (ARTIFACTS / f"journey-last-{username}.html").write_text(other.content())
            other.context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}.png"), full_page=True)


def time_passes(db: Database, day: date) -> list[int]:
    """``cprflow timers run --at <day>``, against the test database, as an operator would run it."""
    result = CliRunner().invoke(
        main, ["--json", "timers", "run", "--at", f"{day.isoformat()}T12:00:00Z"], env={"CPRFLOW_DATABASE_URL": db.url}
    )
    assert result.exit_code == 0, result.output
    fired: list[int] = json.loads(result.stdout)["fired"]
    return fired


# ------------------------------------------------------------------------------------------------
# What every step does: open the task from My tasks, fill it in, complete it, land on the case page


def open_task(page: Any, review_id: int, name: str) -> None:
    page.get_by_role("link", name="My tasks").click()
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="/reviews/{review_id}"]'))
    row.get_by_role("link", name=name, exact=True).first.click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def complete(page: Any, name: str, *, check_answers: bool = False) -> None:
    page.get_by_role("button", name="Complete", exact=True).click()
    if check_answers:
        page.get_by_role("heading", level=1, name="Check your answers").wait_for()
        page.get_by_role("button", name="Confirm and complete").click()
    page.get_by_role("alert").get_by_role("heading", name=f"Done: {name}").wait_for()


def named(name: str) -> re.Pattern[str]:
    """A field's accessible name: its title, and "(required)" after it when it must be answered."""
    return re.compile("^" + re.escape(name) + r"( \(required\))?$")


def type_into(scope: Any, label: str, text: str) -> None:
    """Focus a labelled field and type, as a person at a keyboard does."""
    field = scope.get_by_label(named(label))
    field.click()
    field.press("Control+A")
    field.page.keyboard.type(text)


def group(scope: Any, name: str) -> Any:
    """A fieldset by its legend (a required one's legend ends "(required)" for screen readers)."""
    return scope.get_by_role("group", name=named(name))


def fill_date(scope: Any, legend: str, day: date) -> None:
    """A GOV.UK date input: type the day, month and year."""
    boxes = group(scope, legend)
    for box, value in (("Day", day.day), ("Month", day.month), ("Year", day.year)):
        type_into(boxes, box, str(value))


def upload(page: Any, label: str, title: str) -> None:
    page.get_by_label(named(label)).set_input_files(
        {
            "name": f"{title.lower().replace(' ', '-')}.pdf",
            "mimeType": "application/pdf",
            "buffer": files.pdf(title, "Agencies shared information late."),
        }
    )


# ------------------------------------------------------------------------------------------------
# The steps, each by the role that owns it


def start_review(bu: Any) -> int:
    """The Business Unit starts a Child Practice Review from /reviews/start: chooses it, answers its
    start form (declared on the diagram's start event), checks the answers and lands on its case page."""
    bu.goto("/reviews/start")
    bu.get_by_role("radio", name="Child Practice Review").check()
    bu.get_by_role("button", name="Continue").click()
    bu.get_by_role("heading", level=1, name="Start a Child Practice Review").wait_for()
    type_into(bu, "Child's reference", REFERENCE)
    type_into(bu, "Board area", "Cwm Taf Morgannwg")
    fill_date(bu, "Date referred to the Review Sub-Group", REFERRAL)
    bu.get_by_role("button", name="Continue").click()
    bu.get_by_role("heading", level=1, name="Check your answers before you start").wait_for()
    bu.get_by_role("button", name="Start", exact=True).click()
    bu.locator(".moj-identity-bar").wait_for()
    review_id = int(bu.url.rstrip("/").rsplit("/", 1)[-1])
    return review_id


def record_referral(bu: Any, review_id: int, *, looked_after: bool = False) -> None:
    open_task(bu, review_id, "Record the referral")
    # what the start form asked is there already, not asked again
    assert bu.get_by_label(named("Child's reference")).input_value() == REFERENCE
    assert bu.get_by_role("textbox", name="Board area").input_value() == "Cwm Taf Morgannwg"
    assert group(bu, "Date referred to the Review Sub-Group").get_by_label("Year").input_value() == str(REFERRAL.year)
    bu.get_by_label("Abuse or neglect known or suspected within this Board's area").check()
    type_into(bu, "Referring agency", "South Wales Police")
    fill_date(bu, "Reference date", EVENT)
    bu.get_by_role("radio", name="Life-threatening injury").check()
    bu.get_by_label("Abuse or neglect known or suspected", exact=True).check()
    if looked_after:
        bu.get_by_label("On the child protection register or looked after in the 6 months before").check()
    type_into(bu, "Summary of the referral", "Admitted to hospital with unexplained injuries.")
    bu.get_by_role("radio", name="Keep as a Child Practice Review (transitional, agreed with Welsh Government)").check()
    first = group(bu, "Agency 1")
    first.get_by_role("combobox", name="Agency").select_option("police")
    complete(bu, "Record the referral")


def screen_referral(subgroup: Any, review_id: int) -> None:
    open_task(subgroup, review_id, "Screen the referral against the criteria")
    subgroup.get_by_label("Multi-agency learning is available").check()
    type_into(subgroup, "Recommendation to the Board", "A Child Practice Review: the criteria are met.")
    complete(subgroup, "Screen the referral against the criteria")


def decide(chair: Any, review_id: int, kind: str) -> None:
    open_task(chair, review_id, "Record the Board's decision")
    chair.get_by_role("radio", name=kind).check()
    type_into(chair, "Rationale", "The criteria are met.")
    fill_date(chair, "Date of the Board's decision", TODAY)
    complete(chair, "Record the Board's decision", check_answers=True)


def notify_welsh_government(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Notify Welsh Government")
    fill_date(bu, "Date notified", TODAY)
    complete(bu, "Notify Welsh Government")


def establish_panel(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Establish the Review Panel")
    fill_date(bu, "Date established", TODAY)
    type_into(bu, "Panel chair", "A. Independent")
    bu.get_by_label("The chair is independent of the case").check()
    member = group(bu, "Member 1")
    type_into(member, "Name", "P. Police")
    type_into(member, "Agency", "police")
    complete(bu, "Establish the Review Panel")


def agree_terms_of_reference(panel: Any, review_id: int) -> None:
    open_task(panel, review_id, "Agree the terms of reference")
    fill_date(panel, "Review period from", add_months(EVENT, -12))
    fill_date(panel, "Review period to", EVENT)
    type_into(panel, "Scope", "Practice in the 12 months before the injuries.")
    type_into(group(panel, "Question 1"), "Question", "Was information shared?")
    fill_date(panel, "Date agreed", TODAY)
    complete(panel, "Agree the terms of reference")


def appoint_reviewers(panel: Any, review_id: int, people: list[tuple[str, str]]) -> None:
    open_task(panel, review_id, "Appoint the reviewer(s)")
    for number, (username, name) in enumerate(people, start=1):
        if number > 1:
            group(panel, "Reviewers").get_by_role("button", name="Add another").click()
        reviewer = group(panel, f"Reviewer {number}")
        type_into(reviewer, "Username", username)
        type_into(reviewer, "Name", name)
    fill_date(panel, "Date appointed", TODAY)
    complete(panel, "Appoint the reviewer(s)")


def accept_appointment(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Accept the appointment")
    reviewer.get_by_role("radio", name="I accept").check()
    reviewer.get_by_label("Independence declaration").check()
    complete(reviewer, "Accept the appointment")


def examine_statutory_duties(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Examine the agencies' statutory duties")
    duty = group(reviewer, "Duty 1")
    type_into(duty, "Agency", "police")
    type_into(duty, "Statutory duty", "Section 47 enquiry")
    duty.get_by_role("radio", name="Partly").check()
    plan = group(reviewer, "Plan 1")
    plan.get_by_role("radio", name="Child protection plan").check()
    plan.get_by_role("radio", name="Partly").check()
    type_into(plan, "Findings", "The core group did not meet for 10 weeks.")
    complete(reviewer, "Examine the agencies' statutory duties")


def submit_agency_timeline(agency: Any, review_id: int) -> None:
    open_task(agency, review_id, "Submit the agency timeline")
    event = group(agency, "Event 1")
    fill_date(event, "Date", EVENT)
    type_into(event, "What happened", "Home visit; concerns noted.")
    complete(agency, "Submit the agency timeline")


def merge_summary_timeline(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Merge the timelines into a summary")
    entry = group(reviewer, "Event 1")
    fill_date(entry, "Date", EVENT)
    type_into(entry, "What happened", "Home visit; concerns noted.")
    fill_date(reviewer, "Date completed", TODAY)
    complete(reviewer, "Merge the timelines into a summary")


def involve_family(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Involve the family")
    reviewer.get_by_role("radio", name="Declined").check()
    reviewer.get_by_role("radio", name="Not possible (for example the child died or is too young)").check()
    type_into(reviewer, "Reason, if declined or not involved", "The family chose not to take part.")
    fill_date(reviewer, "Date recorded", TODAY)
    complete(reviewer, "Involve the family")


def hold_learning_event(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Hold the practitioner learning event")
    fill_date(reviewer, "Date held", TODAY)
    type_into(reviewer, "Facilitated by", "Reviewer One")
    type_into(group(reviewer, "Learning point 1"), "Learning", "Share concerns early.")
    complete(reviewer, "Hold the practitioner learning event")


def draft_report(reviewer: Any, review_id: int) -> None:
    open_task(reviewer, review_id, "Draft the report and outline action plan")
    upload(reviewer, "Draft report", "Draft report")
    reviewer.get_by_label("The draft is anonymised").check()
    type_into(reviewer, "Summary", "Information was not shared between agencies.")
    action = group(reviewer, "Action 1")
    type_into(action, "Action reference", "A1")
    type_into(action, "Action", "Share referrals within 24 hours")
    action.get_by_role("combobox", name="Agency").select_option("police")
    fill_date(action, "Due date", TODAY + timedelta(days=60))
    complete(reviewer, "Draft the report and outline action plan")


def quality_assure(panel: Any, review_id: int) -> None:
    open_task(panel, review_id, "Quality-assure the draft")
    panel.get_by_role("radio", name="Pass to the Board").check()
    fill_date(panel, "Date", TODAY)
    complete(panel, "Quality-assure the draft")


def board_approves_report(board: Any, review_id: int) -> None:
    open_task(board, review_id, "Consider and challenge the report")
    board.get_by_role("radio", name="Approve the final report").check()
    fill_date(board, "Board meeting date", TODAY)
    board.get_by_label("Information sharing").check()
    complete(board, "Consider and challenge the report", check_answers=True)


def submit_final_report(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Submit the final report to Welsh Government")
    upload(bu, "Final report", "Final report")
    fill_date(bu, "Date submitted", TODAY)
    complete(bu, "Submit the final report to Welsh Government")


def prepare_publication(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Prepare for publication")
    upload(bu, "7-minute briefing", "Seven minute briefing")
    fill_date(bu, "Date checked", TODAY)
    complete(bu, "Prepare for publication")


def publish_report(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Publish the report")
    fill_date(bu, "Date published", TODAY)
    type_into(bu, "Web address", "https://ctmsafeguarding.example/cpr/314")
    complete(bu, "Publish the report")


def disseminate_learning(subgroup: Any, review_id: int) -> None:
    open_task(subgroup, review_id, "Disseminate the learning")
    way = group(subgroup, "Dissemination 1")
    way.get_by_role("radio", name="7-minute briefing").check()
    complete(subgroup, "Disseminate the learning")


def finalise_action_plan(panel: Any, review_id: int) -> None:
    open_task(panel, review_id, "Finalise the action plan")
    # the outline plan comes over from the draft, to confirm or change
    assert group(panel, "Action 1").get_by_label(named("Action")).input_value() == "Share referrals within 24 hours"
    fill_date(panel, "Date finalised", TODAY)
    type_into(panel, "How the plan takes in the strategic implications", "No further implications were raised.")
    complete(panel, "Finalise the action plan")


def approve_action_plan(board: Any, review_id: int) -> None:
    open_task(board, review_id, "Approve the action plan and submit it")
    fill_date(board, "Date approved", TODAY)
    fill_date(board, "Date submitted to Welsh Government", TODAY)
    complete(board, "Approve the action plan and submit it")


def review_publication(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Review the publication after the minimum period")
    bu.get_by_role("radio", name="Keep it published").check()
    complete(bu, "Review the publication after the minimum period")


def report_action_progress(agency: Any, review_id: int) -> None:
    open_task(agency, review_id, "Report progress on your actions")
    update = group(agency, "Update 1")
    # one update for each of the agency's open actions, its reference filled in
    assert update.get_by_label(named("Action reference")).input_value() == "A1"
    update.get_by_role("radio", name="Complete").check()
    type_into(update, "Evidence", "Referral log for the quarter")
    complete(agency, "Report progress on your actions")


def audit_action_plan(subgroup: Any, review_id: int) -> None:
    open_task(subgroup, review_id, "Audit the action plan")
    # audited against what the agencies reported, shown read-only above the plan
    reported = text_of(subgroup.locator("#f-reported_updates"))
    assert "Police" in reported and "Referral log for the quarter" in reported, reported
    shot(subgroup, "concise-03-audit-with-the-agencies-reports")
    action = group(subgroup, "Action 1")
    action.get_by_role("radio", name="Complete").check()
    action.get_by_label("Evidence accepted").check()
    type_into(action, "What changed in practice", "Referrals now reach partners the same day.")
    action.get_by_role("radio", name="Yes").check()
    assert subgroup.get_by_label(named("Audited by")).count() == 0  # the service knows who is signed in
    complete(subgroup, "Audit the action plan")


def report_audit_progress(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Report progress to the Board and Welsh Government")
    fill_date(bu, "Reported to the Board", TODAY)
    fill_date(bu, "Reported to Welsh Government", TODAY)
    type_into(bu, "Summary", "Every action is complete.")
    complete(bu, "Report progress to the Board and Welsh Government")


def report_difference_made(board: Any, review_id: int) -> None:
    open_task(board, review_id, "Report the difference made to Welsh Government")
    type_into(board, "The difference made", "Referrals are now shared within a day.")
    fill_date(board, "Reported to Welsh Government", TODAY)
    complete(board, "Report the difference made to Welsh Government")


def close_review(bu: Any, review_id: int) -> None:
    open_task(bu, review_id, "Close the review")
    fill_date(bu, "Date closed", TODAY)
    bu.get_by_label("The learning has been disseminated").check()
    complete(bu, "Close the review")


# ------------------------------------------------------------------------------------------------
# What people see between the steps


def stage_is(page: Any, review_id: int, stage: str) -> None:
    page.goto(f"/reviews/{review_id}")
    bar = page.locator(".moj-identity-bar")
    assert f"Stage: {stage}" in text_of(bar), text_of(bar)


def waiting_for(page: Any, review_id: int) -> list[str]:
    """The tasks this person's list shows for the review."""
    page.get_by_role("link", name="My tasks").click()
    page.get_by_role("heading", level=1, name="My tasks").wait_for()
    # the list names a review by its case reference, linking to its case page
    rows = page.get_by_role("row").filter(has=page.locator(f'a[href="/reviews/{review_id}"]'))
    return sorted(text_of(rows.nth(i).get_by_role("cell").first.get_by_role("link")) for i in range(rows.count()))


# ------------------------------------------------------------------------------------------------


def test_a_concise_review_from_referral_to_closure_after_its_first_audit(desks: Desks, live_db: Database) -> None:
    bu, subgroup, chair, board = desks("bu"), desks("subgroup"), desks("chair"), desks("board")
    panel, lead, police = desks("panelchair"), desks("reviewer1"), desks("police")

    review_id = start_review(bu)
    assert waiting_for(bu, review_id) == ["Record the referral"]
    record_referral(bu, review_id)
    stage_is(bu, review_id, "Screening")
    assert waiting_for(subgroup, review_id) == ["Screen the referral against the criteria"]
    screen_referral(subgroup, review_id)
    assert waiting_for(chair, review_id) == ["Record the Board's decision"]
    decide(chair, review_id, "Concise review")
    stage_is(chair, review_id, "Notifying Welsh Government")

    notify_welsh_government(bu, review_id)
    stage_is(bu, review_id, "Setting up the Panel")
    establish_panel(bu, review_id)
    assert waiting_for(panel, review_id) == ["Agree the terms of reference"]
    agree_terms_of_reference(panel, review_id)
    appoint_reviewers(panel, review_id, [("reviewer1", "Reviewer One")])
    stage_is(panel, review_id, "Reviewers and agency timelines")
    assert waiting_for(lead, review_id) == ["Accept the appointment"]
    assert waiting_for(police, review_id) == ["Submit the agency timeline"]
    accept_appointment(lead, review_id)
    submit_agency_timeline(police, review_id)
    assert waiting_for(police, review_id) == []
    assert waiting_for(lead, review_id) == ["Merge the timelines into a summary"]
    merge_summary_timeline(lead, review_id)
    stage_is(lead, review_id, "Family and learning event")
    involve_family(lead, review_id)
    hold_learning_event(lead, review_id)
    stage_is(lead, review_id, "Draft report")
    draft_report(lead, review_id)
    shot(lead, "concise-01-draft-sent")
    assert waiting_for(panel, review_id) == ["Quality-assure the draft"]
    quality_assure(panel, review_id)
    stage_is(panel, review_id, "Board consideration")
    assert waiting_for(board, review_id) == ["Consider and challenge the report"]
    board_approves_report(board, review_id)
    stage_is(bu, review_id, "Publication and action plan")
    assert waiting_for(bu, review_id) == ["Submit the final report to Welsh Government"]
    assert waiting_for(subgroup, review_id) == ["Disseminate the learning"]
    assert waiting_for(panel, review_id) == ["Finalise the action plan"]

    submit_final_report(bu, review_id)
    prepare_publication(bu, review_id)
    publish_report(bu, review_id)
    disseminate_learning(subgroup, review_id)
    finalise_action_plan(panel, review_id)
    assert waiting_for(board, review_id) == ["Approve the action plan and submit it"]
    approve_action_plan(board, review_id)
    assert waiting_for(bu, review_id) == []
    shot(bu, "concise-02-waiting-for-audit")

    # twelve weeks on the website, then the first audit three months after the plan's approval
    assert review_id in time_passes(live_db, TODAY + timedelta(weeks=12))
    assert waiting_for(bu, review_id) == ["Review the publication after the minimum period"]
    review_publication(bu, review_id)
    assert review_id in time_passes(live_db, add_months(TODAY, 3))
    assert waiting_for(police, review_id) == ["Report progress on your actions"]
    report_action_progress(police, review_id)
    assert waiting_for(subgroup, review_id) == ["Audit the action plan"]
    audit_action_plan(subgroup, review_id)
    assert waiting_for(bu, review_id) == ["Report progress to the Board and Welsh Government"]
    report_audit_progress(bu, review_id)
    assert waiting_for(board, review_id) == ["Report the difference made to Welsh Government"]
    report_difference_made(board, review_id)
    assert waiting_for(bu, review_id) == ["Close the review"]
    close_review(bu, review_id)
    stage_is(bu, review_id, "Closed")

    bu.goto(f"/reviews/{review_id}")
    outcome = text_of(bu.locator("#outcome"))
    assert outcome == "This case is closed. Outcome: A Child Practice Review.", outcome
    shot(bu, "concise-04-closed")
    for person in (bu, subgroup, chair, board, panel, lead, police):
        assert waiting_for(person, review_id) == []


def test_an_extended_review_up_to_both_reviewers_accepting(desks: Desks) -> None:
    bu, subgroup, chair, panel = desks("bu"), desks("subgroup"), desks("chair"), desks("panelchair")
    lead, second = desks("reviewer1"), desks("reviewer2")

    review_id = start_review(bu)
    record_referral(bu, review_id, looked_after=True)
    screen_referral(subgroup, review_id)
    decide(chair, review_id, "Extended review")
    notify_welsh_government(bu, review_id)
    establish_panel(bu, review_id)
    agree_terms_of_reference(panel, review_id)
    appoint_reviewers(panel, review_id, [("reviewer1", "Reviewer One"), ("reviewer2", "Reviewer Two")])
    assert waiting_for(lead, review_id) == ["Accept the appointment"]
    assert waiting_for(second, review_id) == ["Accept the appointment"]

    accept_appointment(lead, review_id)
    examine_statutory_duties(lead, review_id)
    assert waiting_for(lead, review_id) == []  # the lead alone does not move the review on
    accept_appointment(second, review_id)
    examine_statutory_duties(second, review_id)
    assert waiting_for(lead, review_id) == []  # the agencies' timelines are not in yet
    submit_agency_timeline(desks("police"), review_id)
    assert waiting_for(lead, review_id) == ["Merge the timelines into a summary"]
    assert waiting_for(second, review_id) == ["Merge the timelines into a summary"]
    shot(second, "extended-01-both-reviewers-accepted")


def test_the_audit_page_with_the_agencies_reports_in_welsh_at_phone_width(page: Any, live_db: Database) -> None:
    add_user(live_db, "subgroup", "review_subgroup")
    review = Review.start(live_db.url)
    cpr.to_audit_loop(review)
    assert review.tick("2026-08-06")
    for agency in cpr.AGENCIES:
        review.do("report_action_progress", cpr.progress(agency, "2026-08-06"), "2026-08-06", assignee=agency)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/login")
    page.get_by_label("Username").fill("subgroup")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Cymraeg").click()
    page.get_by_role("heading", level=1, name="Fy nhasgau").wait_for()
    page.get_by_role("link", name="Archwilio'r cynllun gweithredu").click()
    reports = page.locator("#f-reported_updates")
    reports.wait_for()
    shot(page, "audit-welsh-375px")
    assert "Yr hyn a adroddodd yr asiantaethau" in text_of(page.locator("main"))
    assert "Ar y trywydd iawn" in text_of(reports) and "What the agencies reported" not in text_of(page.locator("main"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
