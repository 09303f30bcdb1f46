"""Staff pages, driven through Flask's test client on the real review diagrams."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import users
from cprflow.web import create_app
from tests.conftest import ROOT
from tests.scenarios import cpr

PASSWORD = "a long enough password"
REFERRAL = {
    "/child_reference": "C-2026-014",
    "/board_area": "Cwm Taf Morgannwg",
    "/in_board_area": "true",
    "/referring_agency": "police",
    "/referral_date": "2026-01-05",
    "/event_date": "2025-12-20",
    "/outcome": "died",
    "/abuse_or_neglect": "true",
    "/register_or_looked_after_in_6_months": "false",
    "/review_framework": "child_practice_review",  # from October 2024 a referral is a SUSR unless kept as a CPR
    "/agencies_involved/0/name": "police",
    "/agencies_involved/1/name": "health",
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pages.db'}")
    database.upgrade()
    now = datetime.now(UTC)
    services.deploy(database, diagram_set.read_directories(ROOT / "processes", ROOT / "forms"), actor="owner", now=now)
    for name, roles, agency in (
        ("bu", ["business_unit"], None),
        ("subgroup", ["review_subgroup"], None),
        ("auditor", ["auditor"], None),
        ("police", ["agency"], "police"),
    ):
        users.add_user(database, name, password=PASSWORD, roles=roles, agency=agency, now=now)
    yield database
    database.dispose()


@pytest.fixture
def client(db: Database) -> FlaskClient:
    return create_app(Settings(database_url=db.url, secret_key="pages-" + "x" * 30), db=db).test_client()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text


def start_review(db: Database) -> int:
    return services.start_instance(db, "child_practice_review", cpr.start_data(), actor="bu", now=datetime.now(UTC)).id


def task_link(html: str, name: str) -> str:
    found = re.search(r'href="(/tasks/[0-9a-f-]{36})">' + re.escape(name), html)
    assert found, f"no task '{name}' listed"
    return found.group(1)


def test_pages_need_sign_in_and_come_back_after_it(client: FlaskClient) -> None:
    response = client.get("/tasks")
    assert response.status_code == 302 and response.location == "/login?next=/tasks"
    with_query = client.get("/reviews?status=running")
    assert with_query.location == "/login?next=/reviews?status%3Drunning"
    token = csrf(client.get("/login").text)
    response = client.post("/login?next=/tasks", data={"username": "bu", "password": PASSWORD, "csrf_token": token})
    assert response.location.endswith("/tasks")


def test_the_sign_in_form_keeps_the_page_to_come_back_to(client: FlaskClient) -> None:
    """A link to a task (from an email) leads to sign-in: the form itself posts the page along, so
    signing in by the form (not only by a crafted post) ends on that page."""
    page = client.get(client.get("/tasks").location).text
    action = re.search(r'<form method="post" action="(/login\?next=[^"]+)"', page)
    assert action, "the sign-in form drops the page asked for"
    token = csrf(page)
    response = client.post(action.group(1), data={"username": "bu", "password": PASSWORD, "csrf_token": token})
    assert response.location.endswith("/tasks")


def test_wrong_password_is_refused_without_saying_which_part(client: FlaskClient) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": "bu", "password": "wrong", "csrf_token": token})
    assert response.status_code == 401
    assert 'class="govuk-error-summary"' in response.text
    assert re.search(r'<a href="#f-username">Wrong username or password\.</a>', response.text)
    assert 'value="bu"' in response.text and "wrong" not in response.text  # the password is never sent back
    assert client.get("/tasks").status_code == 302


def test_an_empty_field_is_named_and_is_no_failed_attempt(client: FlaskClient, db: Database) -> None:
    token = csrf(client.get("/login").text)
    for _ in range(8):  # more than the lockout allows, were they attempts
        response = client.post("/login", data={"username": "bu", "password": "", "csrf_token": token})
        assert response.status_code == 422
        assert re.search(r'<a href="#f-password">Enter your password</a>', response.text)
        assert 'id="f-password-error"' in response.text and "govuk-input--error" in response.text
    both = client.post("/login", data={"username": " ", "password": "", "csrf_token": token}).text
    assert both.index('href="#f-username"') < both.index('href="#f-password"')
    response = client.post("/login", data={"username": "bu", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302  # not locked out


def test_form_posts_without_a_csrf_token_are_refused(client: FlaskClient, db: Database) -> None:
    response = client.post("/login", data={"username": "bu", "password": PASSWORD})
    assert response.status_code == 400
    start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    response = client.post(link, data={**REFERRAL, "_action": "complete"})
    assert response.status_code == 400
    assert services.list_tasks(db)[0].bpmn_id == "record_referral"  # nothing happened


def test_referral_recorded_through_the_form_reaches_the_sub_group(client: FlaskClient, db: Database) -> None:
    review = start_review(db)
    sign_in(client, "bu")
    listing = client.get("/tasks").text
    link = task_link(listing, "Record the referral")
    page = client.get(link).text
    assert 'for="f-child_reference"' in page  # labelled fields rendered from the schema
    response = client.post(link, data={**REFERRAL, "csrf_token": csrf(page), "_action": "complete"})
    assert response.status_code == 302
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["screen_referral"]

    sign_in(client, "subgroup")
    assert task_link(client.get("/tasks").text, "Screen the referral against the criteria")


def test_invalid_submission_shows_errors_beside_fields_and_changes_nothing(client: FlaskClient, db: Database) -> None:
    review = start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    page = client.get(link).text
    incomplete = {k: v for k, v in REFERRAL.items() if k != "/child_reference"}
    response = client.post(link, data={**incomplete, "csrf_token": csrf(page), "_action": "complete"})
    assert response.status_code == 422
    assert "error-summary" in response.text and "is required" not in response.text
    assert '<a href="#f-child_reference">Enter child&#39;s reference</a>' in response.text  # GOV.UK wording, linked
    assert 'aria-invalid="true"' in response.text
    assert 'value="Cwm Taf Morgannwg"' in response.text  # what they typed is kept
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["record_referral"]
    assert [e.kind for e in services.list_events(db, review)] == ["started", "case_read"]


def test_save_draft_keeps_the_values_for_later(client: FlaskClient, db: Database) -> None:
    start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    page = client.get(link).text
    response = client.post(link, data={"/child_reference": "C-DRAFT-1", "csrf_token": csrf(page), "_action": "draft"})
    assert response.status_code == 302
    again = client.get(link).text
    assert "Draft saved" in again
    assert 'value="C-DRAFT-1"' in again


def test_review_page_shows_the_six_month_due_date_and_who_acts_next(client: FlaskClient, db: Database) -> None:
    review = start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    client.post(link, data={**REFERRAL, "csrf_token": csrf(client.get(link).text), "_action": "complete"})
    page = client.get(f"/reviews/{review}").text
    assert "5 July 2026" in page  # referred 2026-01-05, due within six months
    assert "6-month date" in page
    assert "Who acts next" in page and "Review Sub-Group" in page


def test_welsh_switch_translates_pages_and_form_labels(client: FlaskClient, db: Database) -> None:
    start_review(db)
    sign_in(client, "bu")
    listing = client.get("/tasks").text
    response = client.post("/language", data={"language": "cy", "next": "/tasks", "csrf_token": csrf(listing)})
    assert response.status_code == 302
    welsh = client.get("/tasks").text
    assert 'lang="cy"' in welsh and "Fy nhasgau" in welsh
    link = re.search(r'href="(/tasks/[0-9a-f-]{36})"', welsh).group(1)  # type: ignore[union-attr]
    form = client.get(link).text
    assert "Cwblhau" in form  # the Complete button
    assert users.get_user(db, 1).language == "cy"  # type: ignore[union-attr]  # remembered for next time


def test_my_tasks_names_each_review_by_its_case_reference_in_english_and_welsh(
    client: FlaskClient, db: Database
) -> None:
    first = start_review(db)
    now = datetime.now(UTC)
    second = services.start_instance(
        db, "child_practice_review", {**cpr.start_data(), "child_reference": "CPR-2026-099"}, actor="bu", now=now
    ).id
    sign_in(client, "bu")
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    english = client.get("/tasks").text
    event.remove(db.engine, "before_cursor_execute", listen)
    for review, reference in ((first, "CPR-2026-017"), (second, "CPR-2026-099")):
        assert f'href="/reviews/{review}">{reference}</a>' in english
        assert f'<option value="{review}" >{reference}</option>' in english  # the review filter too
        assert f">#{review}<" not in english
        # and the task's own page leads back to its case by the same name
        task = next(t for t in services.list_tasks(db) if t.instance_id == review)
        assert (
            f'<a class="govuk-back-link" href="/reviews/{review}">{reference}</a>'
            in client.get(f"/tasks/{task.id}").text
        )
    # the references come with the tasks: one query for the list, however many reviews it names
    reads = [s for s in statements if "FROM instances" in s or "FROM user_tasks" in s]
    assert len(reads) == 1, reads
    client.post("/language", data={"language": "cy", "next": "/tasks", "csrf_token": csrf(english)})
    welsh = client.get("/tasks").text
    assert "Fy nhasgau" in welsh
    assert f'href="/reviews/{first}">CPR-2026-017</a>' in welsh
    assert f'href="/reviews/{second}">CPR-2026-099</a>' in welsh


def test_other_peoples_work_and_unreadable_reviews_look_missing(client: FlaskClient, db: Database) -> None:
    review = start_review(db)
    link = task_link_for(db)
    sign_in(client, "police")
    assert "Record the referral" not in client.get("/tasks").text
    assert client.get(link).status_code == 404
    assert client.get(f"/reviews/{review}").status_code == 404


def test_auditors_read_reviews_but_cannot_work_tasks(client: FlaskClient, db: Database) -> None:
    review = start_review(db)
    link = task_link_for(db)
    sign_in(client, "auditor")
    assert client.get(f"/reviews/{review}").status_code == 200
    assert client.get(link).status_code == 403  # reads the case; the task is not theirs to do
    assert [e.kind for e in services.list_events(db, review)][-1] == "case_read"


def task_link_for(db: Database) -> str:
    return f"/tasks/{services.list_tasks(db)[0].id}"


def test_security_headers_forbid_framing_and_inline_script(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", response.text, re.S)
    assert scripts and all(not body.strip() for body in scripts)  # files only, none written in the page


def test_welsh_errors_are_worded_in_welsh_and_a_bad_date_is_named_on_its_field(
    client: FlaskClient, db: Database
) -> None:
    review = start_review(db)
    sign_in(client, "bu")
    client.post("/language", data={"language": "cy", "next": "/tasks", "csrf_token": csrf(client.get("/tasks").text)})
    link = task_link_for(db)
    page = client.get(link).text
    posted = {k: v for k, v in REFERRAL.items() if k not in ("/child_reference", "/referral_date")}
    response = client.post(
        link,
        data={**posted, "/referral_date": ["31", "2", "2026"], "csrf_token": csrf(page), "_action": "complete"},
    )
    assert response.status_code == 422
    assert "Rhowch gyfeirnod y plentyn" in response.text
    assert "Rhaid i ddyddiad atgyfeirio at yr Is-grŵp Adolygu fod yn ddyddiad go iawn" in response.text
    assert "is required" not in response.text and "is not a" not in response.text
    assert 'value="31"' in response.text  # the date as typed, in its boxes
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["record_referral"]


def post_to(client: FlaskClient, url: str, page_url: str, **data: Any) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf(client.get(page_url).text)})


def test_two_people_on_one_task_see_who_holds_it_who_saved_the_draft_and_who_finished_first(
    client: FlaskClient, db: Database
) -> None:
    users.add_user(
        db, "bu2", password=PASSWORD, roles=["business_unit"], display_name="Bethan Evans", now=datetime.now(UTC)
    )
    review = start_review(db)
    link = task_link_for(db)
    sign_in(client, "bu")
    page = client.get(link).text
    assert "Assigned to" in page and "No one yet" in page
    # take it, then give it to a colleague from the list of those who may work it
    assert post_to(client, f"{link}/claim", link, _action="claim").status_code == 302
    assert "(you)" in client.get(link).text
    page = client.get(link).text
    assert '<option value="bu2" translate="no">Bethan Evans</option>' in page
    assert "(claimed by you)" in client.get("/tasks").text
    assert post_to(client, f"{link}/assign", link, username="bu2").status_code == 302
    assert "Bethan Evans" in client.get(link).text.split("Assigned to", 1)[1].split("</dd>", 1)[0]
    assert "(claimed by Bethan Evans)" in client.get("/tasks").text  # as people know her, not "bu2"
    refused = post_to(client, f"{link}/assign", link, username="police")  # may not work a Business Unit task
    assert refused.status_code == 302 and services.list_tasks(db)[0].claimed_by == "bu2"
    assert "Choose someone who may work this task" in client.get(link).text
    # while Bethan holds it, the first person's draft is refused with a reason, and nothing is saved
    response = post_to(client, link, link, **{"/child_reference": "C-X", "_action": "draft"})
    assert "Someone else is working on this task" in client.get(response.location).text

    other = create_app(Settings(database_url=db.url, secret_key="pages-" + "x" * 30), db=db).test_client()
    sign_in(other, "bu2")
    post_to(other, link, link, **{"/child_reference": "C-DRAFT-2", "_action": "draft"})
    assert "Draft saved by Bethan Evans on " in client.get(link).text
    post_to(other, link, link, **{**REFERRAL, "_action": "complete"})

    # the first person, a page behind, submits: told who completed it and when, with the way back
    response = client.post(link, data={**REFERRAL, "csrf_token": csrf(page), "_action": "complete"})
    assert response.status_code == 409
    assert "Bethan Evans completed it on " in response.text and "Nothing you entered was saved" in response.text
    assert f'href="/reviews/{review}"' in response.text
    assert "no longer ready" not in response.text
    assert [e.kind for e in services.list_events(db, review)].count("task_completed") == 1


def test_the_board_chair_decides_with_the_referral_and_recommendation_in_front_of_them(
    client: FlaskClient, db: Database
) -> None:
    from tests.scenarios import cpr

    users.add_user(
        db, "chair", password=PASSWORD, roles=["board_chair"], display_name="Carys Jones", now=datetime.now(UTC)
    )
    review = start_review(db)
    sign_in(client, "bu")
    link = task_link_for(db)
    summary = {"/referral_summary": "Admitted to hospital with injuries; police referral."}
    client.post(link, data={**REFERRAL, **summary, "csrf_token": csrf(client.get(link).text), "_action": "complete"})
    screen = services.list_tasks(db, instance_id=review)[0]
    services.complete_task(db, screen.id, cpr.screening(), actor="subgroup", now=datetime.now(UTC))

    sign_in(client, "chair")
    decide = task_link(client.get("/tasks").text, "Record the Board&#39;s decision")
    today = datetime.now(UTC).date()
    page = client.get(decide).text
    facts = page.split('class="govuk-summary-card cpr-facts"')
    assert len(facts) == 3  # the referral, then the Sub-Group's recommendation, before the form
    assert "The referral" in facts[1] and "Admitted to hospital with injuries" in facts[1] and "C-2026-014" in facts[1]
    assert "5 January 2026" in facts[1]  # the referral date, as words
    assert "The Review Sub-Group&#39;s recommendation" in facts[2]
    assert "Recommend as the table says." in facts[2]
    assert "Decided by" not in page and 'name="/decided_by"' not in page  # the system knows who is deciding
    answers = {
        "/decision_rationale": "Criteria met.",
        "/decision_date": [str(today.day), str(today.month), str(today.year)],
        "csrf_token": csrf(page),
        "_action": "complete",
    }
    # The criteria say concise, so the Board must undertake it: "no review" is refused on the form,
    # beside the decision, before any check page, and nothing is kept.
    refused = client.post(decide, data={**answers, "/decision": "no_review"})
    assert refused.status_code == 422
    summary = refused.text.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    assert re.search(
        r'<a href="#f-decision[^"]*">The criteria for a statutory review are met, so the Board must', summary
    )
    assert " checked" not in client.get(decide).text.split('name="/decision"', 1)[1].split("</fieldset>")[0]
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["record_board_decision"]
    response = client.post(decide, data={**answers, "/decision": "concise"})
    # a decision is shown back to be checked before it counts
    assert response.status_code == 302 and response.location.endswith(f"{decide}/check"), response.text
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["record_board_decision"]
    check = client.get(f"{decide}/check").text
    assert "Check your answers" in check and "Concise review" in check and "Criteria met." in check
    assert "Review type from the criteria" not in check  # only the answers given, not what was shown
    assert f'href="{decide}">Change your answers' in check
    done_page = client.post(f"{decide}/check", data={"csrf_token": csrf(check)}, follow_redirects=True).text
    assert "What happens next: for a concise or extended review the Business Unit notifies" in done_page
    following = services.list_tasks(db, instance_id=review)
    assert following and all(f"<li>{t.name} ({t.lane})</li>" in done_page.replace("&#39;", "'") for t in following)
    done = [e for e in services.list_events(db, review) if e.kind == "task_completed"][-1]
    assert (done.actor, done.detail["data"]["completed_by_name"]) == ("chair", "Carys Jones")
    assert done.detail["data"]["decision"] == "concise"
