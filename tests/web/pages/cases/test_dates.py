"""Dates on the pages as GOV.UK writes them: "2 April 2026" ("2 Ebrill 2026"), never "2026-04-02";
moments where the time matters as "2 April 2026 at 9am"."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from tests.web.pages.cases.world import sign_in, started_review

ISO = re.compile(r">[^<>]*\b20[0-9]{2}-[0-9]{2}-[0-9]{2}\b[^<>]*<")  # an ISO date in the text people read


def test_case_register_and_timeline_show_dates_as_gov_uk_writes_them(client: FlaskClient, url: str) -> None:
    review = started_review(url, "2026-04-02")
    sign_in(client, "bu.officer")
    case = html.unescape(client.get(f"/reviews/{review.id}").text)
    assert "2 April 2026" in case and not ISO.search(case), ISO.findall(case)
    register = html.unescape(client.get("/reviews").text)
    assert "2 April 2026" in register and not ISO.search(register), ISO.findall(register)
    timeline = html.unescape(client.get(f"/reviews/{review.id}/timeline").text)
    assert "2 April 2026 at 10am" in timeline, timeline  # 09:00 UTC is 10am in Wales in April
    assert not ISO.search(timeline), ISO.findall(timeline)


def test_dates_are_welsh_on_welsh_pages(client: FlaskClient, url: str) -> None:
    review = started_review(url, "2026-04-02")
    sign_in(client, "bu.officer", welsh=True)
    case = html.unescape(client.get(f"/reviews/{review.id}").text)
    assert "2 Ebrill 2026" in case and not ISO.search(case)
    assert "2 Ebrill 2026 am 10yb" in html.unescape(client.get(f"/reviews/{review.id}/timeline").text)
