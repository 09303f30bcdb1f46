"""The case pages in a real browser: a hold started and ended from the case page, an administrator
suspending and resuming with a reason, and every case page checked by axe-core in English and Welsh
and at 375 px wide.

axe-core is a test-only npm dev dependency: it is read from node_modules into the page under test
(the test's browser context bypasses the site's Content-Security-Policy to run it), never served."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from cprflow import services
from cprflow.core.views import holds_of
from cprflow.db.database import Database
from cprflow.db.models import OutboxMessage
from cprflow.services import modeling
from tests.conftest import ROOT
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, add_user, sign_in
from tests.scenarios import cpr
from tests.scenarios.cpr import Review

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def browser(live_server: str) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield lambda **options: launched.new_context(base_url=live_server, **options).new_page()
        finally:
            launched.close()


def notified_review(db: Database) -> Review:
    r = Review.start(db.url, "2026-01-05")
    cpr.to_decision(r, decide="concise", identifiers={"child_reference": "CPR-E2E-700"})
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    return r


def test_a_hold_is_started_and_ended_from_the_case_page(browser: Any, live_db: Database) -> None:
    add_user(live_db, "bu", "business_unit")
    review = notified_review(live_db)
    page = browser()
    sign_in(page, "bu")
    page.get_by_role("link", name="Reviews", exact=True).click()
    page.get_by_role("link", name="CPR-E2E-700").click()
    page.get_by_role("link", name="Holds", exact=True).click()

    page.get_by_role("button", name="Start the hold").click()  # nothing chosen: told what to do
    summary = page.locator(".govuk-error-summary")
    assert "Select the kind of proceedings" in summary.inner_text()
    page.get_by_label("Criminal proceedings").check()
    page.get_by_label("The learning event").check()
    page.get_by_label("Why the review is on hold").fill("Charging decision pending")
    page.get_by_role("button", name="Start the hold").click()
    page.locator(".govuk-notification-banner--success").filter(has_text="Hold started.").wait_for()
    assert page.locator(".moj-identity-bar").get_by_text("On hold").is_visible()
    page.screenshot(path=str(ARTIFACTS / "case-hold-started.png"), full_page=True)

    page.get_by_label("Why hold H1 has ended").fill("Charging decision made")
    page.get_by_role("button", name="End hold H1").click()
    page.locator(".govuk-notification-banner--success").filter(has_text="Hold ended.").wait_for()
    assert page.locator(".moj-identity-bar").get_by_text("On hold").count() == 0
    [hold] = holds_of(review.data())
    assert hold["ended_on"] and hold["end_reason"] == "Charging decision made"


def test_an_administrator_suspends_and_resumes_with_a_reason(browser: Any, live_db: Database) -> None:
    add_user(live_db, "admin", "admin")
    review = notified_review(live_db)
    page = browser()
    sign_in(page, "admin")
    page.goto(f"/reviews/{review.id}")
    page.get_by_label("Reason, recorded in the case's history").fill("The family asked for a pause")
    page.get_by_role("button", name="Suspend").click()
    page.get_by_role("alert").filter(has_text="Case suspended.").wait_for()  # a success banner
    assert page.locator(".moj-identity-bar").get_by_text("Suspended").is_visible()
    page.get_by_label("Reason, recorded in the case's history").fill("The family is ready")
    page.get_by_role("button", name="Resume").click()
    page.get_by_role("alert").filter(has_text="Case resumed.").wait_for()
    page.get_by_role("link", name="Timeline", exact=True).click()
    timeline = page.locator(".moj-timeline").inner_text()
    assert "Reason: The family is ready" in timeline and "Reason: The family asked for a pause" in timeline


def test_the_board_chair_finds_an_overdue_review_from_the_overview(browser: Any, live_db: Database) -> None:
    add_user(live_db, "chair", "board_chair")
    review = notified_review(live_db)  # referred on 5 January: six months passed without completion
    page = browser()
    sign_in(page, "chair")  # nothing waits for the Chair: the overview is where they land
    page.get_by_role("heading", level=1, name="Board overview").wait_for()
    overdue = page.get_by_role("region", name="Past the 6-month date")
    overdue.get_by_role("link", name="CPR-E2E-700").click()
    page.wait_for_url(f"**/reviews/{review.id}")  # the click navigates; wait for it, however busy the machine
    bar = page.locator(".moj-identity-bar")
    bar.get_by_text("CPR-E2E-700").wait_for()
    assert bar.get_by_text("Overdue").is_visible() and bar.get_by_text("CPR-E2E-700").is_visible()
    page.screenshot(path=str(ARTIFACTS / "case-chair-overdue.png"), full_page=True)


def test_the_case_pages_pass_axe_and_fit_a_phone_in_english_and_welsh(browser: Any, live_db: Database) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run make assets (npm ci installs the dev dependency)")
    add_user(live_db, "bu", "business_unit", "admin")
    review = notified_review(live_db)
    review.send("hold_started", cpr.hold("H1", ["learning_event"]), "2026-01-13")
    pages = [
        "/tasks",
        "/overview",
        "/reports/timescales",
        "/audit/verify",
        "/reviews",
        "/reviews?overdue=true&year=20x",
        "/reviews/start",
        "/reviews/start/child_practice_review",
        "/reviews/start/single_unified_safeguarding_review",
        "/reviews/start/multi_agency_professional_forum",
        f"/reviews/{review.id}",
    ] + [f"/reviews/{review.id}/{s}" for s in ("tasks", "documents", "timeline", "holds", "timescales", "decisions")]
    page = browser(bypass_csp=True, viewport={"width": 375, "height": 800})
    sign_in(page, "bu")
    found: list[str] = []
    for language in ("en", "cy"):
        if language == "cy":
            page.get_by_role("button", name="Cymraeg").click()
            page.wait_for_load_state()
        for url in pages:
            page.goto(url)
            found.extend(_findings_here(page, language, url))
    assert not found, found


PHONE_WIDTH = 375
# A diagram's canvas (the modeler's editors, the trace) may be as wide as what it draws: the issue
# excepts it from the width check (not from axe), so it is hidden while the page around it is measured.
CANVASES = "#canvas, #trace-diagram"


def _findings_here(page: Any, language: str, label: str) -> list[str]:
    """The sideways scroll and the serious or critical axe-core violations of the page on screen."""
    page.wait_for_load_state()
    found: list[str] = []
    assert page.locator("html").get_attribute("lang") == language, f"{label} is not in {language}"
    width = page.evaluate(
        """(canvases) => {
            const hidden = [...document.querySelectorAll(canvases)];
            hidden.forEach(e => e.style.setProperty('display', 'none', 'important'));
            const width = document.documentElement.scrollWidth;
            hidden.forEach(e => e.style.removeProperty('display'));
            return width;
        }""",
        CANVASES,
    )
    if width > PHONE_WIDTH:
        found.append(f"{language} {label}: {width} px wide")
    # A chart drawn on the server keeps words people can read: shrunk to fit, they were 6 px high.
    smallest = page.evaluate(
        """(canvases) => Math.min(Infinity, ...[...document.querySelectorAll('main svg[viewBox]')]
            .filter(svg => !svg.closest(canvases))
            .flatMap(svg => {
                const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
                return [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
            }))""",
        CANVASES,
    )
    if smallest < 10:
        found.append(f"{language} {label}: a chart's words are {smallest:.1f} px high")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
    )
    found.extend(f"{language} {label}: {v}" for v in violations)
    return found


def _press(button: str) -> Any:
    """A step that presses a button (a CSS selector) on the page shown before it: a form sent empty."""

    def press(page: Any) -> None:
        page.locator(button).first.click()
        page.wait_for_load_state()

    press.__name__ = f"pressing {button}"
    return press


def test_every_other_page_passes_axe_and_fits_a_phone_in_english_and_welsh(browser: Any, live_db: Database) -> None:
    """Task forms (facts, check your answers, repeating rows, an upload), the trace, the learning pages,
    notifications, sign-in, the modeler, the data fix and the message pages: each as the person who uses
    it, in English and then Welsh, at 375 px."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run make assets (npm ci installs the dev dependency)")
    for name, roles, agency in (
        ("bu", ("business_unit",), None),
        ("chair", ("board_chair",), None),
        ("police1", ("agency",), "police"),
        ("rsg", ("review_subgroup",), None),
        ("auditor", ("auditor",), None),
        ("admin", ("admin",), None),
        ("olwen", ("process_owner",), None),
    ):
        add_user(live_db, name, *roles, agency=agency)
    notified = notified_review(live_db)
    notified.send("hold_started", cpr.hold("H1", ["learning_event"]), "2026-01-13")
    referral = Review.start(live_db.url, "2026-01-05")
    deciding = Review.start(live_db.url, "2026-01-05")
    cpr.to_decision(deciding)
    decision = deciding.task("record_board_decision")
    services.save_draft(live_db, decision.id, cpr.decision("concise"), actor="chair", now=cpr.at("2026-01-08"))
    timelines = Review.start(live_db.url, "2026-01-05")
    cpr.to_reviewers(timelines)
    cpr.accept_all(timelines)
    approved = Review.start(live_db.url, "2026-01-05")  # its findings fill the learning pages
    cpr.to_draft(approved)
    cpr.approve_report(approved)
    with live_db.transaction() as session:  # an email that ran out of attempts, for the administrator
        session.connection().execute(
            insert(OutboxMessage.__table__),
            {
                "kind": "event",
                "template": "referral_received",
                "recipient": "bu",
                "address": "business.unit@example.wales",
                "language": "en",
                "subject": "A referral was received",
                "body": "Open the review.",
                "message_id": "<e2e-1@example.wales>",
                "status": "failed",
                "attempts": 5,
                "last_error": "SMTP 550 mailbox unavailable",
                "created_at": cpr.at("2026-01-06"),
                "instance_id": notified.id,
            },
        )
    record, timeline = referral.task("record_referral"), timelines.task("submit_agency_timeline", "police")
    # A second version, so the version page shows a diff and the migration page its table of reviews.
    bpmn = "processes/child_practice_review.bpmn"
    edited = modeling.version_files(live_db, 1)[bpmn].replace(
        'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'
    )
    modeling.deploy_edits(live_db, {bpmn: edited}, actor="olwen", now=cpr.at("2026-01-14"), note="Two weeks")

    visits: dict[str | None, list[Any]] = {
        None: ["/login", _press("main button[type=submit]")],
        "bu": [f"/tasks/{record.id}", _press("button[value=complete]"), "/reviews/999999", "/settings/notifications"],
        "chair": [f"/tasks/{decision.id}", f"/tasks/{decision.id}/check"],
        "police1": [f"/tasks/{timeline.id}", _press("button[name=_add]"), "/audit/verify"],
        "rsg": ["/learning", "/learning/trends", "/learning/recurring"],
        "auditor": [f"/reviews/{notified.id}/trace", f"/reviews/{approved.id}/trace"],
        "admin": ["/admin/notifications", f"/reviews/{notified.id}", _press("form[action$=data-fix] button")],
        "olwen": [
            "/modeler/",
            "/modeler/versions",
            "/modeler/versions/2",
            "/modeler/drafts",
            "/modeler/drafts/olwen",
            "/modeler/versions/2/migrate",
            _press("main form button[type=submit]"),  # no review chosen, no reason: the error summary
            "/modeler/timescales",
            "/modeler/diagram?file=processes/child_practice_review.bpmn",
            "/modeler/table?file=processes/cpr_review_type.dmn",
            "/modeler/form?name=notify_welsh_government",
        ],
    }
    found: list[str] = []
    for who, steps in visits.items():
        page = browser(bypass_csp=True, viewport={"width": PHONE_WIDTH, "height": 800})
        try:
            if who is None:
                page.goto("/login")
            else:
                sign_in(page, who)
            for language in ("en", "cy"):
                if language == "cy":
                    page.get_by_role("button", name="Cymraeg").click()
                    page.wait_for_load_state()
                label = ""
                for step in steps:
                    if isinstance(step, str):
                        page.goto(step)
                        label = f"{who or 'signed out'} {step}"
                    else:
                        step(page)
                        label = f"{label} after {step.__name__}"
                    found.extend(_findings_here(page, language, label))
        finally:
            page.context.close()
    assert not found, "\n".join(found)
