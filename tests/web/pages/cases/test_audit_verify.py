"""Auditors check the event log from a page and are shown the first broken link."""

from __future__ import annotations

import html

from flask.testing import FlaskClient
from sqlalchemy import text

from cprflow.db.database import Database
from tests.web.pages.cases.world import sign_in, started_review


def test_an_auditor_runs_the_check_and_sees_the_first_broken_link(
    client: FlaskClient, url: str, case_db: Database
) -> None:
    review = started_review(url)
    sign_in(client, "auditor")
    page = client.get("/audit/verify")
    assert page.status_code == 200 and "Check the event log now" in page.text and 'id="result"' not in page.text
    assert "No link is broken" in client.get("/audit/verify?run=1").text

    with case_db.engine.begin() as connection:
        first = connection.execute(
            text("SELECT id FROM events WHERE instance_id = :i ORDER BY id LIMIT 1"), {"i": review.id}
        ).scalar_one()
        connection.execute(text("UPDATE events SET actor = 'nobody' WHERE id = :id"), {"id": first})
    shown = html.unescape(client.get("/audit/verify?run=1").text)
    assert "The event log has been tampered with" in shown
    assert f"Review #{review.id}" in shown and f"first broken link at event {first} " in shown
    assert "an event was changed after it was written" in shown


def test_the_check_is_for_auditors_and_administrators(client: FlaskClient) -> None:
    sign_in(client, "bu.officer")
    assert client.get("/audit/verify?run=1").status_code == 403
