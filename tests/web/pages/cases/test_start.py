"""Starting a review, forum or SUSR from the pages: choose, check, then the new case's page."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.web.pages.cases.world import PASSWORD, csrf, sign_in


def test_the_business_unit_chooses_what_to_start_and_is_asked_its_start_form(
    client: FlaskClient, case_db: Database
) -> None:
    sign_in(client, "bu.officer")
    assert 'href="/reviews/start"' in client.get("/reviews").text
    page = client.get("/reviews/start").text
    for name in ("Child Practice Review", "Single Unified Safeguarding Review", "Multi-agency professional forum"):
        assert name in page

    refused = client.post("/reviews/start", data={"csrf_token": csrf(page)})
    assert refused.status_code == 422 and "Select what to start" in html.unescape(refused.text)
    for process in (SUSR, FORUM):
        chosen = client.post("/reviews/start", data={"csrf_token": csrf(page), "process": process})
        assert chosen.status_code == 302 and chosen.location == f"/reviews/start/{process}"
    assert services.list_instances(case_db)[1] == 0  # nothing starts before the start form is answered


def test_who_may_not_start_is_not_offered_it(client: FlaskClient) -> None:
    sign_in(client, "police")
    assert 'href="/reviews/start"' not in client.get("/reviews").text
    assert client.get("/reviews/start").status_code == 403


REVIEW = "child_practice_review"


def _answers(reference: str = "CPR-2026-040", day: str = "2", board: str = "Cwm Taf Morgannwg") -> dict[str, object]:
    """The review's start form as a browser posts it (each field named by its JSON pointer; a date as
    day, month and year boxes)."""
    return {"/child_reference": reference, "/board_area": board, "/referral_date": [day, "4", "2026"]}


def test_a_review_starts_from_its_start_form_checked_answers_and_opens_its_case(
    client: FlaskClient, case_db: Database
) -> None:
    sign_in(client, "bu.officer")
    chosen = client.post(
        "/reviews/start", data={"csrf_token": csrf(client.get("/reviews/start").text), "process": REVIEW}
    )
    assert chosen.status_code == 302 and chosen.location == f"/reviews/start/{REVIEW}"
    form = client.get(chosen.location).text
    for label in ("Child&#39;s reference", "Board area", "Date referred to the Review Sub-Group"):
        assert label in form

    empty = client.post(chosen.location, data={"csrf_token": csrf(form)})
    page = html.unescape(empty.text)
    assert empty.status_code == 422 and "govuk-error-summary" in page and "There is a problem" in page
    assert '<a href="#f-child_reference">Enter child\'s reference</a>' in page
    assert '<a href="#f-referral_date">Enter date referred to the Review Sub-Group</a>' in page
    later = client.post(
        chosen.location, data={"csrf_token": csrf(form), **_answers(), "/referral_date": ["2", "4", "2999"]}
    )
    assert later.status_code == 422 and "today or in the past" in html.unescape(later.text)
    assert services.list_instances(case_db)[1] == 0  # nothing starts from answers that are refused

    answered = client.post(chosen.location, data={"csrf_token": csrf(form), **_answers()})
    assert answered.status_code == 302 and answered.location == f"/reviews/start/{REVIEW}/check"
    check = html.unescape(client.get(answered.location).text)
    assert "Check your answers before you start" in check
    for shown in ("Child Practice Review", "CPR-2026-040", "Cwm Taf Morgannwg", "2 April 2026"):
        assert shown in check
    assert f'href="/reviews/start/{REVIEW}#f-child_reference"' in check  # Change, on the form's own field
    assert services.list_instances(case_db)[1] == 0  # nothing starts before the answers are checked

    changed = client.post(chosen.location, data={"csrf_token": csrf(check), **_answers(reference="CPR-2026-041")})
    assert changed.location == f"/reviews/start/{REVIEW}/check"
    assert 'value="CPR-2026-041"' in client.get(chosen.location).text  # the form keeps what was answered

    started = client.post(answered.location, data={"csrf_token": csrf(check)})
    [view], _ = services.list_instances(case_db)
    assert started.location == f"/reviews/{view.id}"
    assert {k: view.data[k] for k in ("child_reference", "board_area", "referral_date")} == {
        "child_reference": "CPR-2026-041",
        "board_area": "Cwm Taf Morgannwg",
        "referral_date": "2026-04-02",
    }
    case_page = html.unescape(client.get(started.location).text)
    assert "CPR-2026-041" in case_page
    [task] = services.list_tasks(case_db, instance_id=view.id)
    recorded = html.unescape(client.get(f"/tasks/{task.id}").text)  # the first task opens with the answers
    assert 'value="CPR-2026-041"' in recorded and 'value="Cwm Taf Morgannwg"' in recorded
    assert client.get(answered.location).location == f"/reviews/start/{REVIEW}"  # answers used once


def test_the_start_form_and_its_check_page_speak_welsh(client: FlaskClient, case_db: Database) -> None:
    sign_in(client, "bu.officer", welsh=True)
    url = f"/reviews/start/{REVIEW}"
    form = client.get(url).text
    assert "Dechrau Adolygiad Ymarfer Plant" in html.unescape(form)
    empty = html.unescape(client.post(url, data={"csrf_token": csrf(form)}).text)
    assert "Mae problem wedi codi" in empty and "Rhowch gyfeirnod y plentyn" in empty
    client.post(url, data={"csrf_token": csrf(form), **_answers()})
    check = html.unescape(client.get(f"{url}/check").text)
    assert "2 Ebrill 2026" in check and "Newid" in check and "Cyfeirnod y plentyn" in check
    started = client.post(f"{url}/check", data={"csrf_token": csrf(check)})
    banner = html.unescape(client.get(started.location).text).split("govuk-notification-banner--success")[1]
    assert "Wedi dechrau: Adolygiad Ymarfer Plant" in banner and "<li>Cofnodi'r atgyfeiriad (" in banner


def test_the_api_starts_a_review_only_with_data_that_fits_its_start_form(
    client: FlaskClient, case_db: Database
) -> None:
    token = client.post("/api/auth/token", json={"username": "bu.officer", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.post("/api/instances", json={"process": REVIEW, "data": {"child_reference": ""}}, headers=headers)
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["fields"]
    assert {"/data/child_reference", "/data/board_area", "/data/referral_date"} <= set(fields), fields
    assert services.list_instances(case_db)[1] == 0
    data = {"child_reference": "CPR-2026-042", "board_area": "Powys", "referral_date": "2026-04-02"}
    started = client.post("/api/instances", json={"process": REVIEW, "data": data}, headers=headers)
    assert started.status_code == 201 and started.get_json()["data"]["child_reference"] == "CPR-2026-042"


def test_who_may_not_start_a_process_is_not_shown_its_start_form(client: FlaskClient) -> None:
    sign_in(client, "police")
    for process in (REVIEW, SUSR, FORUM):
        assert client.get(f"/reviews/start/{process}").status_code == 403


SUSR, FORUM = "single_unified_safeguarding_review", "multi_agency_professional_forum"

#: Each follow-on process's start form as a browser posts it, what its check page shows, the English
#: and Welsh messages for an empty form, and the first task that opens with the answers filled in.
STARTS = {
    SUSR: {
        "answers": {
            "/subject_reference": "SUSR-2026-051",
            "/board_area": "Gwent",
            "/referral_date": ["3", "4", "2026"],
        },
        "labels": ("Case reference", "Board", "Referral date"),
        "shown": ("Single Unified Safeguarding Review", "SUSR-2026-051", "Gwent", "3 April 2026"),
        "empty": (
            '<a href="#f-subject_reference">Enter case reference</a>',
            '<a href="#f-referral_date">Enter referral date</a>',
        ),
        "welsh": ("Dechrau Adolygiad Diogelu Unedig Sengl", "Rhowch gyfeirnod yr achos", "3 Ebrill 2026"),
        "data": {"subject_reference": "SUSR-2026-051", "board_area": "Gwent", "referral_date": "2026-04-03"},
        "first": ("Record the referral", 'value="SUSR-2026-051"', 'value="Gwent"'),
        "first_cy": "Cofnodi'r atgyfeiriad",
    },
    FORUM: {
        "answers": {
            "/forum_title": "Learning on neglect",
            "/forum_purpose": "Examine escalation",
            "/board_area": "Powys",
            "/case_reference": "CPR-2026-070",
        },
        "labels": ("Title", "Purpose", "Board", "Case reference"),
        "shown": (
            "Multi-agency professional forum",
            "Learning on neglect",
            "Examine escalation",
            "Powys",
            "CPR-2026-070",
        ),
        "empty": (
            '<a href="#f-forum_title">Enter a title for the forum</a>',
            '<a href="#f-board_area">Enter board</a>',
        ),
        "welsh": ("Dechrau Fforwm Proffesiynol Amlasiantaethol", "Rhowch deitl i'r fforwm", "Powys"),
        "data": {"forum_title": "Learning on neglect", "forum_purpose": "Examine escalation", "board_area": "Powys"},
        "first": ("Notify Welsh Government",),
        "first_cy": "Hysbysu Llywodraeth Cymru",
    },
}


@pytest.mark.parametrize("process", [SUSR, FORUM])
def test_a_susr_or_forum_starts_from_its_start_form_checked_answers_and_opens_its_case(
    client: FlaskClient, case_db: Database, process: str
) -> None:
    expect: dict[str, Any] = STARTS[process]
    sign_in(client, "bu.officer")
    url = f"/reviews/start/{process}"
    form = html.unescape(client.get(url).text)
    for label in expect["labels"]:
        assert label in form

    empty = client.post(url, data={"csrf_token": csrf(form)})
    page = html.unescape(empty.text)
    assert empty.status_code == 422 and "There is a problem" in page
    for message in expect["empty"]:
        assert message in page
    if process == SUSR:
        later = client.post(
            url, data={"csrf_token": csrf(form), **expect["answers"], "/referral_date": ["3", "4", "2999"]}
        )
        assert later.status_code == 422 and "today or in the past" in html.unescape(later.text)
    assert services.list_instances(case_db)[1] == 0  # nothing starts from answers that are refused

    answered = client.post(url, data={"csrf_token": csrf(form), **expect["answers"]})
    assert answered.status_code == 302 and answered.location == f"{url}/check"
    check = html.unescape(client.get(answered.location).text)
    assert "Check your answers before you start" in check
    for shown in expect["shown"]:
        assert shown in check
    assert services.list_instances(case_db)[1] == 0  # nothing starts before the answers are checked

    started = client.post(answered.location, data={"csrf_token": csrf(check)})
    [view], _ = services.list_instances(case_db)
    assert view.process_id == process and started.location == f"/reviews/{view.id}"
    assert {k: view.data.get(k) for k in expect["data"]} == expect["data"]
    case_page = html.unescape(client.get(started.location).text)
    banner = case_page.split("govuk-notification-banner--success")[1].split("</main>")[0]
    assert "Started: " in banner and f"<li>{expect['first'][0]} (" in banner
    reference = view.data.get("subject_reference") or view.data.get("case_reference")
    assert f'<span class="moj-identity-bar__title"><strong>{reference}</strong>' in case_page  # known by it
    assert f'href="/reviews/{view.id}"' in client.get(f"/reviews?reference={reference}").text  # and found by it
    [task] = services.list_tasks(case_db, instance_id=view.id)
    opened = html.unescape(client.get(f"/tasks/{task.id}").text)  # the first task opens with the answers
    for filled in expect["first"][1:]:
        assert filled in opened


@pytest.mark.parametrize("process", [SUSR, FORUM])
def test_the_susr_and_forum_start_forms_speak_welsh(client: FlaskClient, case_db: Database, process: str) -> None:
    expect: dict[str, Any] = STARTS[process]
    title, error, shown = expect["welsh"]
    sign_in(client, "bu.officer", welsh=True)
    url = f"/reviews/start/{process}"
    form = client.get(url).text
    assert title in html.unescape(form)
    empty = html.unescape(client.post(url, data={"csrf_token": csrf(form)}).text)
    assert "Mae problem wedi codi" in empty and error in empty
    client.post(url, data={"csrf_token": csrf(form), **expect["answers"]})
    check = html.unescape(client.get(f"{url}/check").text)
    assert shown in check and "Newid" in check
    started = client.post(f"{url}/check", data={"csrf_token": csrf(check)})
    banner = html.unescape(client.get(started.location).text).split("govuk-notification-banner--success")[1]
    assert "Wedi dechrau: " in banner and f"<li>{expect['first_cy']} (" in banner.split("</main>")[0]


def test_a_referral_routed_to_susr_links_to_the_susr_it_started_and_back(
    client: FlaskClient, case_db: Database
) -> None:
    view = services.start_instance(
        case_db,
        REVIEW,
        {"child_reference": "CPR-2026-060", "board_area": "Gwent", "referral_date": "2026-04-02"},
        actor="bu.officer",
        now=datetime.now(UTC),
    )
    [task] = services.list_tasks(case_db, instance_id=view.id)
    referral = dict(cpr.referral("2026-04-02"), child_reference="CPR-2026-060")
    del referral["review_framework"]  # from 1 October 2024 a referral is a SUSR
    done = services.complete_task(case_db, task.id, referral, actor="bu.officer", now=datetime.now(UTC))
    susr_id = done.data["follow_on"]["instance_id"]
    sign_in(client, "bu.officer")
    page = html.unescape(client.get(f"/reviews/{view.id}").text)
    assert (
        f'<a class="govuk-link" href="/reviews/{susr_id}">Single Unified Safeguarding Review, Review #{susr_id}</a>'
        in page
    )
    back = html.unescape(client.get(f"/reviews/{susr_id}").text)
    assert f'<a class="govuk-link" href="/reviews/{view.id}">Child Practice Review, Review #{view.id}</a>' in back
    assert "CPR-2026-060" in back  # the SUSR carries the referral's reference
    sign_in(client, "bu.officer", welsh=True)
    welsh = html.unescape(client.get(f"/reviews/{view.id}").text)
    assert "Wedi'i ddechrau o'r achos hwn:" in welsh and f"Adolygiad #{susr_id}" in welsh


def test_the_review_sub_group_starting_a_forum_it_cannot_read_is_told_it_started_not_sent_to_not_found(
    client: FlaskClient, case_db: Database
) -> None:
    """The Sub-Group may start a forum but neither reads forums nor holds its first task (the Business
    Unit notifies Welsh Government): it lands on its task list with the banner, and starts it once."""
    expect: dict[str, Any] = STARTS[FORUM]
    sign_in(client, "subgroup.chair")
    url = f"/reviews/start/{FORUM}"
    answered = client.post(url, data={"csrf_token": csrf(client.get(url).text), **expect["answers"]})
    started = client.post(answered.location, data={"csrf_token": csrf(client.get(answered.location).text)})
    [view], _ = services.list_instances(case_db)
    assert started.status_code == 302 and started.location == "/tasks"
    page = html.unescape(client.get("/tasks").text)
    banner = page.split("govuk-notification-banner--success")[1].split("</main>")[0]
    assert "Started: Multi-agency professional forum" in banner
    assert f"Review #{view.id} is with those who work its first tasks" in banner
