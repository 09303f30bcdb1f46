"""The reviews register: filters, search, sort and pages, worked in the database against what each
person may read; the API's list answers the same question."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from cprflow import services
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, at, opened
from tests.web.pages.cases.world import PASSWORD, sign_in


def references(page: str) -> list[str]:
    """The case references listed, in order."""
    return re.findall(r'<a class="govuk-link" href="/reviews/\d+">([^<]+)</a>', page)


def concise(url: str, reference: str, referral: str = "2026-01-05") -> Review:
    """A concise review decided on its referral day, waiting to notify Welsh Government."""
    r = Review.start(url, referral)
    r.do("record_referral", dict(cpr.referral(referral), child_reference=reference), referral)
    r.do("screen_referral", cpr.screening(), referral)
    r.do("record_board_decision", cpr.decision("concise", referral), referral)
    return r


def test_the_register_filters_searches_and_sorts_what_the_person_may_read(client: FlaskClient, url: str) -> None:
    late = concise(url, "CPR-2026-101")  # referred in January: open past its 6-month date (5 July)
    late.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    late.send("hold_started", cpr.hold("H1", ["learning_event"]), "2026-01-13")
    concise(url, "CPR-2026-102", referral="2026-11-20")
    forum = Review.start(url, "2026-02-01", process_id=cpr.FORUM)  # no reference yet: shown by its number

    sign_in(client, "bu.officer")
    everything = client.get("/reviews")
    assert everything.status_code == 200
    assert "3 reviews" in everything.text
    assert references(everything.text) == [f"Review #{forum.id}", "CPR-2026-102", "CPR-2026-101"]  # newest first
    assert "Child Practice Review: Concise" in everything.text
    assert '<td class="govuk-table__cell">Setting up the Panel</td>' in everything.text  # the stage by its name

    overdue = client.get("/reviews?overdue=true").text
    assert references(overdue) == ["CPR-2026-101"] and "1 review" in overdue and "Overdue" in overdue
    assert references(client.get("/reviews?on_hold=true").text) == ["CPR-2026-101"]
    assert references(client.get("/reviews?reference=2026-102").text) == ["CPR-2026-102"]
    assert references(client.get("/reviews?reference=cpr-2026").text) == ["CPR-2026-102", "CPR-2026-101"]
    assert references(client.get("/reviews?process=multi_agency_professional_forum").text) == [f"Review #{forum.id}"]
    assert references(client.get("/reviews?review_type=concise&sort=referral").text) == ["CPR-2026-101", "CPR-2026-102"]
    chosen = html.unescape(client.get("/reviews?year=2026&stage=notification").text)
    assert references(chosen) == ["CPR-2026-102"]  # the late one has moved on to setting up the Panel
    assert "Referred in 2026" in chosen and 'href="/reviews?stage=notification"' in chosen  # a tag removes its filter

    refused = client.get("/reviews?year=twenty")
    assert refused.status_code == 422
    assert "Enter a year as 4 digits, like 2026" in refused.text and 'value="twenty"' in refused.text

    # An agency reads only the reviews it has a task in: none here.
    fresh = client.application.test_client()
    sign_in(fresh, "police")
    none = fresh.get("/reviews").text
    assert "0 reviews" in none and "There are no reviews for you to see." in none  # no filter is to blame
    assert "No reviews match these filters." in fresh.get("/reviews?review_type=concise").text


def test_the_register_in_welsh(client: FlaskClient, url: str) -> None:
    concise(url, "CPR-2026-201")
    sign_in(client, "bu.officer", welsh=True)
    page = html.unescape(client.get("/reviews?sort=due").text)
    for text in ("Adolygiadau", "Hidlo", "Cyfeirnod yr achos", "Adolygiad Ymarfer Plant: Cryno", "1 adolygiad"):
        assert text in page, text


def test_the_register_pages_fifty_at_a_time(client: FlaskClient, url: str) -> None:
    with opened(url) as db:
        for n in range(51):
            data = {**cpr.start_data(), "child_reference": f"CPR-2026-{n:03d}"}
            services.start_instance(db, cpr.CPR, data, actor="bu.officer", now=at("2026-01-05"))
    sign_in(client, "bu.officer")
    first = client.get("/reviews").text
    assert "51 reviews" in first and len(references(first)) == 50
    assert 'href="/reviews?page=2"' in first and 'rel="next"' in first
    second = client.get("/reviews?page=2").text
    assert references(second) == ["CPR-2026-000"] and 'rel="prev"' in second


def test_the_api_list_takes_the_same_filters(client: FlaskClient, url: str) -> None:
    late = concise(url, "CPR-2026-301")
    concise(url, "CPR-2026-302", referral="2026-11-20")
    token = client.post("/api/auth/token", json={"username": "bu.officer", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    found = client.get("/api/instances?overdue=true&reference=2026-30", headers=headers).get_json()
    assert (found["total"], [i["id"] for i in found["instances"]]) == (1, [late.id])
    by_year = client.get("/api/instances?year=2026&sort=oldest&review_type=concise", headers=headers).get_json()
    assert by_year["total"] == 2 and by_year["instances"][0]["id"] == late.id
    bad = client.get("/api/instances?sort=sideways", headers=headers)
    assert bad.status_code == 422 and list(bad.get_json()["error"]["fields"]) == ["/sort"]
