"""Starting a review in a real browser at 375 px: choose what to start, answer its start form (errors
first, in GOV.UK wording, the summary focused and linking to the field), check the answers, change
one, start, and land on the new case's page."""

from __future__ import annotations

import re
from typing import Any

from cprflow import services
from cprflow.db.database import Database
from tests.e2e.conftest import ARTIFACTS, PASSWORD, add_user


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url


def test_the_business_unit_starts_a_review_through_its_start_form(page: Any, live_db: Database) -> None:
    add_user(live_db, "bu", "business_unit")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/login")
    page.get_by_label("Username").fill("bu")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    page.goto("/reviews/start")
    page.get_by_label("Child Practice Review").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/reviews/start/child_practice_review")
    _no_sideways_scroll(page)

    page.get_by_role("button", name="Continue").click()  # nothing answered
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    summary.get_by_role("link", name="Enter child's reference").click()
    assert page.evaluate("document.activeElement.id") == "f-child_reference"
    _no_sideways_scroll(page)

    page.get_by_label("Child's reference").fill("CPR-E2E-901")
    page.get_by_label("Board area").fill("Cwm Taf Morgannwg")
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("4")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/reviews/start/child_practice_review/check")
    assert page.get_by_text("2 April 2026").is_visible()
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "start-check-375.png"), full_page=True)

    page.get_by_role("link", name="Change Board area").click()
    page.get_by_label("Board area").fill("Powys")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/check")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/reviews/[0-9]+$"))
    [view], _ = services.list_instances(live_db)
    assert page.url.endswith(f"/reviews/{view.id}")
    assert view.data["board_area"] == "Powys" and view.data["referral_date"] == "2026-04-02"
    assert page.get_by_text("CPR-E2E-901").first.is_visible()
    _no_sideways_scroll(page)
