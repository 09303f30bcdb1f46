"""Starting a review, forum or SUSR from the pages: choose, check, then the new case's page."""

from __future__ import annotations

import html

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.web.pages.cases.world import PASSWORD, csrf, sign_in


def test_the_business_unit_starts_a_susr_after_checking_its_choice(client: FlaskClient, case_db: Database) -> None:
    sign_in(client, "bu.officer")
    assert 'href="/reviews/start"' in client.get("/reviews").text
    page = client.get("/reviews/start").text
    for name in ("Child Practice Review", "Single Unified Safeguarding Review", "Multi-agency professional forum"):
        assert name in page

    refused = client.post("/reviews/start", data={"csrf_token": csrf(page)})
    assert refused.status_code == 422 and "Select what to start" in html.unescape(refused.text)
    check = client.post(
        "/reviews/start", data={"csrf_token": csrf(page), "process": "single_unified_safeguarding_review"}
    )
    assert "Check before you start" in check.text and "Single Unified Safeguarding Review" in check.text
    assert services.list_instances(case_db)[1] == 0  # nothing starts before the answer is checked

    started = client.post(
        "/reviews/start",
        data={"csrf_token": csrf(check.text), "process": "single_unified_safeguarding_review", "confirm": "1"},
    )
    [view], _ = services.list_instances(case_db)
    assert view.process_id == "single_unified_safeguarding_review"
    assert started.location == f"/reviews/{view.id}"
    assert "Started. Next: Record the referral." in html.unescape(client.get(started.location).text)


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
    assert "Wedi dechrau. Nesaf: Cofnodi'r atgyfeiriad." in html.unescape(client.get(started.location).text)


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


def test_a_process_without_a_start_form_has_none_to_show(client: FlaskClient) -> None:
    sign_in(client, "bu.officer")
    assert client.get("/reviews/start/multi_agency_professional_forum").status_code == 404
    sign_in(client, "police")
    assert client.get(f"/reviews/start/{REVIEW}").status_code == 403
