"""The Board Chair's overview, and where signed-in people land: never a dead end."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from tests.scenarios import cpr
from tests.scenarios.cpr import Review
from tests.web.pages.cases.world import sign_in


def test_the_chair_sees_overdue_due_soon_held_breached_and_waiting(client: FlaskClient, url: str) -> None:
    late = Review.start(url, "2026-01-05")
    cpr.to_decision(late, decide="concise", identifiers={"child_reference": "CPR-LATE"})
    late.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    late.send("hold_started", cpr.hold("H1", ["learning_event"]), "2026-01-13")
    soon_day = (datetime.now(UTC) - timedelta(days=180)).date().isoformat()  # 6 months on: within 14 days
    soon = Review.start(url, soon_day)
    soon.do("record_referral", dict(cpr.referral(soon_day), child_reference="CPR-SOON"), soon_day)
    waiting = Review.start(url, "2026-01-05")
    cpr.to_decision(waiting, identifiers={"child_reference": "CPR-WAITING"})  # the Board's decision is due

    sign_in(client, "board.chair")
    assert client.get("/").location == "/tasks"  # a decision waits for the Chair
    page = html.unescape(client.get("/overview").text)
    overdue = page.split('id="overdue"')[1].split('id="due-soon"')[0]
    due_soon = page.split('id="due-soon"')[1].split('id="breaches"')[0]
    held = page.split('id="holds"')[1].split('id="waiting"')[0]
    assert "CPR-LATE" in overdue and "CPR-WAITING" in overdue and "CPR-SOON" not in overdue
    assert "CPR-SOON" in due_soon and "CPR-LATE" not in due_soon
    assert "CPR-LATE" in held and "CPR-WAITING" not in held
    breaches = page.split('id="breaches"')[1].split('id="holds"')[0]
    # Each case is named as the Chair knows it, by its reference, not by the system's number.
    assert "CPR-LATE" in breaches and "Review #" not in breaches and "No reason recorded yet" in breaches
    waiting_for_chair = re.sub(r"<[^>]+>", "", page.split('id="waiting"')[1])
    assert "Record the Board's decision (CPR-WAITING)" in waiting_for_chair


def test_people_with_nothing_to_do_land_on_the_register_or_the_overview(client: FlaskClient) -> None:
    sign_in(client, "board.chair")
    assert client.get("/").location == "/overview"
    other = client.application.test_client()
    sign_in(other, "auditor")
    assert other.get("/").location == "/reviews"
    assert other.get("/reviews").status_code == 200
