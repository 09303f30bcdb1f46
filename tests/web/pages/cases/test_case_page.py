"""The case page: identity bar, sections, timescales as met, missed or not started, holds started and
ended, and an administrator's suspend and resume with a reason; in English and Welsh."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.core.errors import NotWaiting
from cprflow.core.expressions import WALES
from cprflow.core.views import holds_of
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import users
from tests.conftest import ROOT, T0
from tests.scenarios import cpr
from tests.scenarios import test_migrated_clock as migrated_clock
from tests.scenarios.cpr import Review, opened
from tests.web.pages.cases.world import PASSWORD, csrf, sign_in, started_review


def notified(url: str) -> Review:
    """A concise review referred on 5 January, Welsh Government notified on the 12th (due the 13th)."""
    r = Review.start(url, "2026-01-05")
    cpr.to_decision(r, decide="concise", identifiers={"child_reference": "CPR-2026-501"})
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    return r


def post(client: FlaskClient, url: str, page: str, data: dict[str, object]) -> object:
    return client.post(url, data={**data, "csrf_token": csrf(client.get(page).text)})


def test_the_identity_bar_and_timescales_say_what_is_met_missed_and_not_started(client: FlaskClient, url: str) -> None:
    r = notified(url)
    days = (datetime.now(UTC).date() - datetime(2026, 1, 5).date()).days
    sign_in(client, "bu.officer")

    page = html.unescape(client.get(f"/reviews/{r.id}").text)
    assert "moj-identity-bar" in page and "CPR-2026-501" in page and "Cwm Taf Morgannwg" in page
    assert "Child Practice Review: Concise" in page and "Stage: Setting up the Panel" in page
    assert f"{days} days since referral" in page and "Overdue" in page
    for section in ("Tasks", "Documents", "Timeline", "Holds", "Timescales", "Decisions"):
        assert f">{section}</a>" in page

    timescales = html.unescape(client.get(f"/reviews/{r.id}/timescales").text)
    assert "Met on 12 January 2026" in timescales  # notified a day before it was due
    missed = (datetime.now(UTC).date() - datetime(2026, 7, 5).date()).days
    assert f"Missed by {missed} days so far" in timescales  # six months passed without completion
    assert "Not started" in timescales  # the action plan's four weeks start at the final report

    decisions = html.unescape(client.get(f"/reviews/{r.id}/decisions").text)
    assert "Board decision" in decisions and "Criteria considered by the Board." in decisions
    timeline = html.unescape(client.get(f"/reviews/{r.id}/timeline").text)
    assert "moj-timeline" in timeline and "Notify Welsh Government: done" in timeline and "Case started" in timeline
    tasks = html.unescape(client.get(f"/reviews/{r.id}/tasks").text)
    assert "Establish the Review Panel" in tasks and "Take this task" in tasks
    # the timescale report names the review by its reference too, linking to its trace
    report = html.unescape(client.get("/reports/timescales").text)
    assert f'href="/reviews/{r.id}/trace">CPR-2026-501</a>' in report


def test_a_hold_is_started_and_ended_from_the_case_page(client: FlaskClient, url: str) -> None:
    r = notified(url)
    holds = f"/reviews/{r.id}/holds"
    sign_in(client, "bu.officer")  # the Business Unit records holds (permissions.json: message_senders)

    refused = post(client, holds, holds, {"type": "criminal", "reason": "Charging decision pending"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Select what the hold stops" in html.unescape(refused.text)  # type: ignore[attr-defined]
    assert not holds_of(r.data())
    # with nothing given, the summary names the problems in the order of the fields
    empty = html.unescape(post(client, holds, holds, {}).text)  # type: ignore[attr-defined]
    summary = empty.split("govuk-error-summary__list")[1].split("</ul>")[0]
    said = ["Select the kind of proceedings", "Select what the hold stops", "Enter why the review is on hold"]
    assert sorted(said, key=summary.index) == said

    started = post(
        client, holds, holds, {"type": "criminal", "reason": "Charging decision pending", "scope": "learning_event"}
    )
    assert started.status_code == 302  # type: ignore[attr-defined]
    [hold] = holds_of(r.data())
    assert (hold["hold_id"], hold["type"], hold["authorised_by"], hold["ended_on"]) == (
        "H1",
        "criminal",
        "Bu.Officer",
        None,
    )
    page = html.unescape(client.get(holds).text)
    assert "Criminal proceedings" in page and "On hold" in page
    banner = page.split("govuk-notification-banner--success")[1].split("</div>\n    </div>")[0]
    assert "Hold started." in banner  # a success banner, as for a completed task
    row = page.split('<td class="govuk-table__cell">H1</td>')[1].split("</tr>")[0]
    assert "The learning event" in row  # what the hold stops, as staff chose it

    ended = post(client, f"{holds}/H1/end", holds, {"reason": "Charging decision made"})
    assert ended.status_code == 302  # type: ignore[attr-defined]
    [hold] = holds_of(r.data())
    assert hold["ended_on"] and hold["ended_by"] == "Bu.Officer"
    assert "End hold H1" not in client.get(holds).text


def test_the_kinds_of_hold_are_those_the_process_owner_gives_the_hold_message(client: FlaskClient, url: str) -> None:
    """A process owner adds a kind of proceedings to forms/hold_started.message.json and drops one: the
    case page offers, accepts and names what the deployed form says, in English and Welsh."""
    files = diagram_set.read_directories(ROOT / "processes", ROOT / "forms").files
    message = json.loads(files["forms/hold_started.message.json"])
    kind = message["properties"]["type"]
    at = kind["enum"].index("disciplinary")
    for key, value in (
        ("enum", "police"),
        ("x-enumNames", "Police investigation"),
        ("x-enumNames-cy", "Ymchwiliad yr heddlu"),
    ):
        kind[key][at] = value
    edited = {**files, "forms/hold_started.message.json": json.dumps(message).encode()}
    database = Database(url)
    services.deploy(database, diagram_set.DiagramSet(edited), actor="owner", now=T0)
    database.dispose()
    r = notified(url)  # started on the version just deployed
    holds = f"/reviews/{r.id}/holds"
    sign_in(client, "bu.officer")

    page = html.unescape(client.get(holds).text)
    assert 'value="police"' in page and "Police investigation" in page
    assert 'value="disciplinary"' not in page and "Disciplinary proceedings" not in page
    refused = post(client, holds, holds, {"type": "disciplinary", "reason": "Hearing", "scope": "publication"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Select the kind of proceedings" in html.unescape(refused.text)  # type: ignore[attr-defined]
    assert not holds_of(r.data())

    started = post(client, holds, holds, {"type": "police", "reason": "Investigation open", "scope": "publication"})
    assert started.status_code == 302  # type: ignore[attr-defined]
    assert [h["type"] for h in holds_of(r.data())] == ["police"]
    row = html.unescape(client.get(holds).text).split('<td class="govuk-table__cell">H1</td>')[1].split("</tr>")[0]
    assert "Police investigation" in row and "Publication" in row

    sign_in(client, "bu.officer", welsh=True)
    row = html.unescape(client.get(holds).text).split('<td class="govuk-table__cell">H1</td>')[1].split("</tr>")[0]
    assert "Ymchwiliad yr heddlu" in row and "Cyhoeddi" in row


def test_only_an_administrator_suspends_and_resumes_and_always_with_a_reason(client: FlaskClient, url: str) -> None:
    r = notified(url)
    page = f"/reviews/{r.id}"
    sign_in(client, "bu.officer")
    assert "Suspend" not in client.get(page).text
    assert post(client, f"{page}/status", page, {"action": "suspend", "reason": "x"}).status_code == 403  # type: ignore[attr-defined]

    admin = client.application.test_client()
    sign_in(admin, "admin")
    refused = post(admin, f"{page}/status", page, {"action": "suspend", "reason": " "})
    assert refused.status_code == 422 and "Enter the reason" in refused.text  # type: ignore[attr-defined]
    assert r.view().status != "suspended"
    post(admin, f"{page}/status", page, {"action": "suspend", "reason": "Family asked for a pause"})
    assert r.view().status == "suspended"
    paused = html.unescape(admin.get(f"{page}/timescales").text)
    assert "Paused: the case is suspended" in paused
    post(admin, f"{page}/status", page, {"action": "resume", "reason": "Family ready"})
    assert r.view().status in ("running", "waiting")
    reasons = [e.detail.get("reason") for e in r.events() if e.kind == "status_changed"]
    assert reasons == ["Family asked for a pause", "Family ready"]


def test_a_closed_case_shows_its_outcome_and_the_case_page_speaks_welsh(client: FlaskClient, url: str) -> None:
    r = Review.start(url, "2026-01-05")
    cpr.to_decision(r, outcome="other", mapf=True, decide="mapf")
    r.do("notify_welsh_government", {"date_notified": "2026-01-09"}, "2026-01-09")
    with opened(url) as db:
        assert services.get_instance(db, r.id).status == "completed"
    sign_in(client, "bu.officer")
    page = html.unescape(client.get(f"/reviews/{r.id}").text)
    assert "This case is closed. Outcome: Referred to a multi-agency professional forum." in page

    sign_in(client, "bu.officer", welsh=True)
    welsh = html.unescape(client.get(f"/reviews/{r.id}").text)
    for text in ("Trosolwg", "Tasgau", "Penderfyniadau", "Adolygiad Ymarfer Plant", "Mae'r achos hwn ar gau."):
        assert text in welsh, text


def test_a_task_holder_is_shown_no_link_to_the_whole_case_history_they_may_not_open(
    client: FlaskClient, url: str
) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)  # the agencies now hold their timeline tasks
    trace = f"/reviews/{r.id}/trace"
    sign_in(client, "police")
    page = client.get(f"/reviews/{r.id}")
    assert page.status_code == 200 and trace not in page.text
    assert client.get(trace).status_code == 404
    # Nor is the police officer told the case has no decision, holds or dates, which is what the
    # parts of it they may read would show: those tabs say they are for whole-case readers.
    for section in ("timescales", "decisions", "holds"):
        shown = html.unescape(client.get(f"/reviews/{r.id}/{section}").text)
        assert "This part of the case is for those who read the whole case." in shown, section
        assert "No decision has been recorded yet." not in shown and "No holds." not in shown
        assert "Not started" not in shown
    sign_in(client, "bu.officer")
    assert trace in client.get(f"/reviews/{r.id}").text
    assert client.get(trace).status_code == 200
    for section in ("timescales", "decisions", "holds"):
        assert "for those who read the whole case" not in client.get(f"/reviews/{r.id}/{section}").text
    assert "Board decision" in html.unescape(client.get(f"/reviews/{r.id}/decisions").text)


def test_the_timescales_name_the_event_that_stopped_the_6_month_clock(client: FlaskClient, url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    sign_in(client, "bu.officer")
    before = html.unescape(client.get(f"/reviews/{r.id}/timescales").text)
    assert "The 6-month clock stops at the Board's approval of the final report." in before
    cpr.approve_report(r)  # the Board met on 15 April
    after = html.unescape(client.get(f"/reviews/{r.id}/timescales").text)
    assert "The 6-month clock stopped on 2026-04-15, at the Board's approval of the final report." in after
    sign_in(client, "bu.officer", welsh=True)
    welsh = html.unescape(client.get(f"/reviews/{r.id}/timescales").text)
    assert "Stopiodd y cloc 6 mis ar 2026-04-15, adeg cymeradwyaeth y Bwrdd i'r adroddiad terfynol." in welsh


def test_a_review_moved_from_before_the_clock_table_shows_where_its_clock_stopped(
    client: FlaskClient, url: str, tmp_path: Path
) -> None:
    """Its old version stopped the clock at the approval and recorded no event: the page shows no
    sentence rather than failing, and once the new version has checked the clock, the event."""
    cpr.deploy(url, migrated_clock.diagrams_before_clock_table(tmp_path / "old"), when="2026-01-02")
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    sign_in(client, "bu.officer")
    page = client.get(f"/reviews/{r.id}/timescales")
    assert page.status_code == 200 and 'id="clock-stop"' not in page.text

    new = cpr.copy_diagrams(tmp_path / "new")
    table = new / "processes" / "cpr_completion_clock.dmn"
    table.write_text(table.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a version newer than the old one
    migrated_clock.migrate(url, r, new, "2026-04-16")
    assert client.get(f"/reviews/{r.id}/timescales").status_code == 200
    r.do("submit_final_report", cpr.SUBMIT, "2026-04-20")
    after = html.unescape(client.get(f"/reviews/{r.id}/timescales").text)
    assert "The 6-month clock stopped on 2026-04-15, at the Board's approval of the final report." in after


def test_who_acts_next_names_the_person_or_agency_each_task_is_for(
    client: FlaskClient, url: str, case_db: Database
) -> None:
    """Three agencies' timelines open at once: the Business Unit chasing them must see which is whose,
    on the case page, in the banner after a task, and in Welsh."""
    users.add_user(case_db, cpr.LEAD, password=PASSWORD, roles=["reviewer"], now=T0, display_name="Rhian Lewis")
    r = Review.start(url, "2026-01-05")
    cpr.to_reviewers(r)  # a concise review: its lead reviewer is asked to accept
    sign_in(client, "bu.officer")
    who = html.unescape(client.get(f"/reviews/{r.id}").text).split('id="who-acts-next"')[1].split("</ul>")[0]
    assert "Accept the appointment, for Rhian Lewis (Reviewers)" in who
    assert "href=" not in who  # the Business Unit may not work it: no link that ends in a refusal

    sign_in(client, cpr.LEAD)
    task = r.task("accept_appointment").id
    # the reviewer goes from the case straight to the task that waits for them
    who = html.unescape(client.get(f"/reviews/{r.id}").text).split('id="who-acts-next"')[1].split("</ul>")[0]
    assert f'<a class="govuk-link" href="/tasks/{task}">Accept the appointment, for Rhian Lewis (Reviewers)</a>' in who
    form = {"/appointment_response": "accept", "/independence_declared": "true", "_action": "complete"}
    done = post(client, f"/tasks/{task}", f"/tasks/{task}", form)
    assert done.status_code == 302, done.text  # type: ignore[attr-defined]
    banner = html.unescape(client.get(done.location).text)  # type: ignore[attr-defined]
    banner = banner.split("govuk-notification-banner--success")[1].split("</main>")[0]
    assert "Done: Accept the appointment" in banner
    for agency in ("Police", "Health board", "Education"):
        assert f"<li>Submit the agency timeline, for {agency} (Agencies)</li>" in banner

    sign_in(client, "bu.officer", welsh=True)
    held = html.unescape(client.get(f"/reviews/{r.id}/tasks").text)
    # Every task link and "take" button on the tab works for whoever is shown it: none for the agencies' tasks.
    timelines = [t.id for t in r.tasks("submit_agency_timeline")]
    assert timelines and not any(f'href="/tasks/{t}"' in held or f"/tasks/{t}/claim" in held for t in timelines)
    for link in set(re.findall(r'href="(/tasks/[0-9a-f-]{36})"', held)):
        assert client.get(link).status_code == 200, link
    assert "Heddlu" in held and "Bwrdd iechyd" in held and ">police<" not in held
    assert "ar gyfer Heddlu" in html.unescape(client.get(f"/reviews/{r.id}").text)


def test_an_agency_sees_its_own_name_on_its_timeline_task_not_an_id(client: FlaskClient, url: str) -> None:
    r = Review.start(url, "2026-01-05")
    cpr.to_reviewers(r)
    task = r.task("submit_agency_timeline", assignee="police").id
    sign_in(client, "police")

    def agency_field() -> str:
        return html.unescape(client.get(f"/tasks/{task}").text).split('id="f-agency"')[1].split("</dl>")[0]

    assert '<div class="cpr-value">Police</div>' in agency_field()
    sign_in(client, "police", welsh=True)
    assert '<div class="cpr-value">Heddlu</div>' in agency_field()


def test_the_board_opens_the_draft_it_decides_on_from_its_task(client: FlaskClient, url: str) -> None:
    """A Board member reads no whole case; the draft their task decides on opens from the task itself."""
    r = Review.start(url, "2026-01-05")
    cpr.to_draft(r)
    r.do("draft_report", cpr.DRAFT, "2026-03-25", assignee=cpr.LEAD)
    r.do("panel_quality_assurance", cpr.qa("approve", "2026-04-02"), "2026-04-02")
    task = r.task("board_consideration").id
    sign_in(client, "board.member")
    page = client.get(f"/tasks/{task}").text
    draft = page.split('id="f-draft_report_ref"')[1].split("</dl>")[0]
    link = re.search(r'<a class="govuk-link" href="(/reviews/\d+/documents/\d+)" download>draft_report.pdf</a>', draft)
    assert link and "(version 1)" in draft
    opened_ = client.get(link.group(1))
    assert opened_.status_code == 200 and opened_.data.startswith(b"%PDF")
    assert "for those who read the whole case" in client.get(f"/reviews/{r.id}/timeline").text  # not the history


def test_the_case_timeline_and_documents_name_people_as_they_are_known(client: FlaskClient, url: str) -> None:
    r = Review.start(url, "2026-01-05")
    cpr.to_draft(r)
    r.do("draft_report", cpr.DRAFT, "2026-03-25", assignee=cpr.LEAD, actor="bu.officer")  # filed on their behalf
    sign_in(client, "bu.officer")
    timeline = html.unescape(client.get(f"/reviews/{r.id}/timeline").text)
    assert "by Bu.Officer" in timeline and "by bu.officer" not in timeline
    assert f"by {cpr.LEAD}" in timeline  # no account here: shown by the name recorded
    documents = html.unescape(client.get(f"/reviews/{r.id}/documents").text).split('id="documents"')[1]
    assert "draft_report.pdf" in documents and ", Bu.Officer</td>" in documents


def test_an_agency_that_files_its_timeline_is_not_told_whom_else_the_review_waits_on(
    client: FlaskClient, url: str
) -> None:
    """An agency sees its own part of a case, not the other agencies' (guards.HOLDER_SEES): the
    banner after its task and the case page list only what waits for it."""
    r = Review.start(url, "2026-01-05")
    cpr.to_reviewers(r)
    task = r.task("submit_agency_timeline", assignee="police").id
    sign_in(client, "police")
    form = {
        "/timeline_events/0/date": ["3", "1", "2026"],
        "/timeline_events/0/event": "Strategy discussion",
        "_action": "complete",
    }
    done = post(client, f"/tasks/{task}", f"/tasks/{task}", form)
    assert done.status_code == 302, done.text  # type: ignore[attr-defined]
    page = html.unescape(client.get(done.location).text)  # type: ignore[attr-defined]
    assert "Done: Submit the agency timeline" in page
    for other in ("Health board", "Education", "Rhian Lewis", "Accept the appointment"):
        assert other not in page
    assert "Nothing is waiting for you in this review." in page and "Who acts next" not in page
    assert "6-month date" not in page and "Referred" not in page  # what it may not see is left out, not shown as "—"


def test_the_business_unit_gives_an_agency_task_to_someone_from_the_case_tasks_tab(
    client: FlaskClient, url: str, case_db: Database
) -> None:
    """Those who assign tasks do it from the case, for tasks of lanes they do not work themselves
    (the task's own page is for those who may work it): each task offers only those who may work it."""
    users.add_user(
        case_db, "pc.jones", password=PASSWORD, roles=["agency"], agency="police", now=T0, display_name="PC Jones"
    )
    r = Review.start(url, "2026-01-05")
    cpr.to_reviewers(r)
    task = r.task("submit_agency_timeline", assignee="police").id
    sign_in(client, "bu.officer")
    tab = html.unescape(client.get(f"/reviews/{r.id}/tasks").text)
    form = tab.split(f'action="/tasks/{task}/assign"')[1].split("</form>")[0]
    offered = re.findall(r'<option value="([^"]*)"', form)
    assert offered == ["", "pc.jones", "police"]  # no one, then the police's people; not the fire service's

    refused = post(
        client,
        f"/tasks/{task}/assign",
        f"/reviews/{r.id}/tasks",
        {"username": "fire", "next": f"/reviews/{r.id}/tasks"},
    )
    assert refused.status_code == 302  # type: ignore[attr-defined]
    assert "Choose someone who may work this task." in html.unescape(client.get(refused.location).text)  # type: ignore[attr-defined]
    assert r.task("submit_agency_timeline", assignee="police").claimed_by is None  # nothing changed

    given = post(
        client,
        f"/tasks/{task}/assign",
        f"/reviews/{r.id}/tasks",
        {"username": "pc.jones", "next": f"/reviews/{r.id}/tasks"},
    )
    assert given.location == f"/reviews/{r.id}/tasks"  # type: ignore[attr-defined]
    after = html.unescape(client.get(given.location).text)  # type: ignore[attr-defined]
    assert "Task assigned" in after and "Submit the agency timeline is now with PC Jones." in after
    row = after.split(f'action="/tasks/{task}/assign"')[0].rsplit('<tr class="govuk-table__row">', 1)[1]
    assert "PC Jones" in row
    assert (
        '<option value="pc.jones" translate="no" selected>'
        in after.split(f'action="/tasks/{task}/assign"')[1].split("</form>")[0]
    )

    sign_in(client, "police")  # the agency works its task but assigns nothing
    assert "/assign" not in client.get(f"/reviews/{r.id}/tasks").text


def test_a_task_the_diagram_gives_to_an_agency_says_so_rather_than_no_one_yet(client: FlaskClient, url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    db = Database(url)
    users.add_user(db, cpr.LEAD, password=PASSWORD, roles=["reviewer"], display_name="Rhian Lewis", now=T0)
    db.dispose()
    [accept] = [t for t in r.tasks() if t.bpmn_id == "accept_appointment"]
    sign_in(client, cpr.LEAD)
    page = html.unescape(client.get(f"/tasks/{accept.id}").text)
    assert "Rhian Lewis (you)" in page.split("Assigned to</dt>")[1].split("</dd>")[0]

    cpr.accept_all(r)
    [timeline] = [t for t in r.tasks() if t.bpmn_id == "submit_agency_timeline" and t.assignee == "police"]
    sign_in(client, "police")
    page = html.unescape(client.get(f"/tasks/{timeline.id}").text)
    assigned = page.split("Assigned to</dt>")[1].split("</dd>")[0]
    assert "Police" in assigned and "No one yet" not in assigned  # as the case page's "who acts next" says
    assert "(you)" not in assigned  # the agency, not this officer, whose username happens to be its id
    assert "Take this task" in page  # and the officer may still take it, so colleagues see who has it


def test_a_date_the_form_fills_in_as_today_opens_with_today_and_keeps_what_was_saved(
    client: FlaskClient, url: str, case_db: Database
) -> None:
    """The summary timeline's date opens as today (its form says ``"x-default": "today"``), in Wales,
    so the reviewer does not type it; a date they saved earlier is shown as they saved it."""
    users.add_user(case_db, cpr.LEAD, password=PASSWORD, roles=["reviewer"], now=T0, display_name="Rhian Lewis")
    r = Review.start(url, "2026-01-05")
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    cpr.timelines(r)
    task = r.task("merge_summary_timeline", assignee=cpr.LEAD).id
    sign_in(client, cpr.LEAD)

    def boxes() -> list[str]:
        page = client.get(f"/tasks/{task}").text
        ids = ("f-timeline_merged_date", "f-timeline_merged_date.month", "f-timeline_merged_date.year")
        return [re.search(rf'id="{i}" [^>]*value="([^"]*)"', page).group(1) for i in ids]  # type: ignore[union-attr]

    today = datetime.now(WALES).date()
    assert boxes() == [str(today.day), str(today.month), str(today.year)]
    assert "Filled in as today: change it if it was earlier." in client.get(f"/tasks/{task}").text
    services.save_draft(case_db, task, {"timeline_merged_date": "2026-02-12"}, actor=cpr.LEAD, now=cpr.at("2026-02-12"))
    assert boxes() == ["12", "2", "2026"]


def test_a_hold_is_not_offered_before_the_review_takes_one(client: FlaskClient, url: str) -> None:
    """Was a bug: on a review still at its referral the page offered 'Start a hold', and sending it
    answered 'the submitted data breaks a rule of the form' (the rule reads the hold register,
    which the diagram opens only when the review starts). Now the page says when holds begin, and a
    hold sent anyway is refused as one the review does not take yet, naming no rule."""
    r = started_review(url)
    holds = f"/reviews/{r.id}/holds"
    sign_in(client, "bu.officer")
    page = html.unescape(client.get(holds).text)
    assert "A hold can be started once the review itself starts, after the Board's decision." in page
    assert "Start the hold" not in page

    sent = post(client, holds, holds, {"type": "criminal", "reason": "Charging decision", "scope": "publication"})
    assert sent.status_code == 409  # type: ignore[attr-defined]
    assert "The review does not take this now: nothing was recorded." in html.unescape(sent.text)  # type: ignore[attr-defined]
    assert not holds_of(r.data())
    with pytest.raises(NotWaiting):  # the API and CLI say the same, before any rule of the form
        r.send("hold_started", cpr.hold("H1", ["publication"]), "2026-01-06")
