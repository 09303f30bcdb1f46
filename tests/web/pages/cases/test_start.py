"""Starting a review, forum or SUSR from the pages: choose, check, then the new case's page."""

from __future__ import annotations

import html

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.web.pages.cases.world import csrf, sign_in


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
