"""An administrator corrects one field of a case's data from its page, with a reason recorded as the
API's data fix records it; what is refused is said in GOV.UK words at the field, and changes nothing."""

from __future__ import annotations

import html

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.web.pages.cases.world import csrf, sign_in, started_review


def _fixes(db: Database, review: int) -> list[object]:
    return [e for e in services.list_events(db, review) if e.kind == "data_fixed"]


def test_an_administrator_corrects_a_field_with_a_reason_recorded(
    client: FlaskClient, case_db: Database, url: str
) -> None:
    review = started_review(url).id
    sign_in(client, "admin")
    page = html.unescape(client.get(f"/reviews/{review}").text)
    assert "Correct the case data" in page and "Board area (now: Cwm Taf Morgannwg)" in page
    fixed = client.post(
        f"/reviews/{review}/data-fix",
        data={"csrf_token": csrf(page), "field": "board_area", "value": "Powys", "fix_reason": "Typed wrongly"},
    )
    assert fixed.status_code == 302
    assert services.get_instance(case_db, review).data["board_area"] == "Powys"
    [event] = _fixes(case_db, review)
    assert (
        event.actor == "admin" and event.detail["reason"] == "Typed wrongly" and event.detail["keys"] == ["board_area"]
    )
    assert "Corrected: Board area." in html.unescape(client.get(fixed.location).text)

    dated = client.post(
        f"/reviews/{review}/data-fix",
        data={"csrf_token": csrf(page), "field": "referral_date", "value": "6 1 2026", "fix_reason": "Misread"},
    )
    assert dated.status_code == 302 and services.get_instance(case_db, review).data["referral_date"] == "2026-01-06"


def test_bad_input_is_refused_at_its_field_and_changes_nothing(
    client: FlaskClient, case_db: Database, url: str
) -> None:
    review = started_review(url).id
    sign_in(client, "admin")
    token = csrf(client.get(f"/reviews/{review}").text)
    before = services.get_instance(case_db, review).data

    def refused(data: dict[str, str], *expected: str) -> None:
        response = client.post(f"/reviews/{review}/data-fix", data={"csrf_token": token, **data})
        page = html.unescape(response.text)
        assert response.status_code == 422 and "There is a problem" in page, page
        for text in expected:
            assert text in page, text

    refused(
        {"field": "board_area", "value": "Powys"}, '<a href="#f-fix_reason">Enter why the data is being corrected</a>'
    )
    refused({"value": "x", "fix_reason": "r"}, '<a href="#f-field">Select the field to correct</a>')
    refused({"field": "referral_date", "value": "31 2 2026", "fix_reason": "r"}, "Enter a real date")
    refused({"field": "in_board_area", "value": "maybe", "fix_reason": "r"}, "Enter yes or no")
    refused(
        {"field": "outcome", "value": "lost", "fix_reason": "r"}, "Enter a value that Outcome for the child accepts"
    )
    assert services.get_instance(case_db, review).data == before and _fixes(case_db, review) == []


def test_only_administrators_are_offered_it_and_others_are_refused(
    client: FlaskClient, case_db: Database, url: str
) -> None:
    review = started_review(url).id
    sign_in(client, "bu.officer")
    page = client.get(f"/reviews/{review}").text
    assert "Correct the case data" not in page
    response = client.post(
        f"/reviews/{review}/data-fix",
        data={"csrf_token": csrf(page), "field": "board_area", "value": "Powys", "fix_reason": "r"},
    )
    assert response.status_code == 403 and _fixes(case_db, review) == []


def test_the_data_fix_speaks_welsh(client: FlaskClient, url: str) -> None:
    review = started_review(url).id
    sign_in(client, "admin", welsh=True)
    page = html.unescape(client.get(f"/reviews/{review}").text)
    assert "Cywiro data'r achos" in page and "Ardal y Bwrdd (nawr: Cwm Taf Morgannwg)" in page
    refused = html.unescape(
        client.post(f"/reviews/{review}/data-fix", data={"csrf_token": csrf(page), "field": "board_area"}).text
    )
    assert "Rhowch y gwerth newydd" in refused and "Rhowch pam mae'r data'n cael ei gywiro" in refused
