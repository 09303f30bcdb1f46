"""A concise review's first decisions, only through the pages, on a phone-sized screen: the Business
Unit records the referral, the Review Sub-Group screens it, and the Board Chair decides with the
referral and the recommendation in front of them, never typing their own name or today's date; then
the Chair reads it all again in Welsh. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cprflow import services
from cprflow.db.database import Database
from tests.e2e.conftest import add_user, sign_in
from tests.e2e.test_staff_journey import (
    DECIDE,
    RECORD,
    SCREEN,
    fill_date,
    fill_referral,
    open_task,
    shot,
    start_review,
    text_of,
)

PHONE = {"width": 375, "height": 812}


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def as_person(page: Any, live_server: str) -> Any:
    other = page.context.browser.new_context(base_url=live_server, viewport=PHONE).new_page()
    return other


def test_a_concise_reviews_decision_made_in_the_pages_with_what_came_before_in_view(
    page: Any, live_server: str, live_db: Database
) -> None:
    for name, role in (("bu", "business_unit"), ("rsg", "review_subgroup"), ("chair", "board_chair")):
        add_user(live_db, name, role)
    review_id = start_review(live_db)
    referral = date.today() - timedelta(days=3)
    page.set_viewport_size(PHONE)

    # --- the Business Unit records the referral, summary included --------------------------------
    sign_in(page, "bu")
    open_task(page, RECORD)
    fill_referral(page, referral, referral - timedelta(days=10))
    page.get_by_label("Summary of the referral").fill("Admitted to hospital with unexplained injuries.")
    assert no_sideways_scroll(page)
    page.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
    done = page.get_by_role("alert")
    assert done.get_by_role("heading", name=f"Done: {RECORD}").is_visible()
    assert done.get_by_role("listitem").filter(has_text=f"{SCREEN} (Review Sub-Group)").is_visible()

    # --- the Review Sub-Group screens it and recommends ----------------------------------------------
    rsg = as_person(page, live_server)
    try:
        sign_in(rsg, "rsg")
        open_task(rsg, SCREEN)
        rsg.get_by_label("Recommendation to the Board").fill("A concise Child Practice Review.")
        rsg.get_by_role("button", name="Complete").click()
        rsg.get_by_role("heading", level=1, name="Review #").wait_for()
    finally:
        rsg.context.close()

    # --- the Board Chair decides, seeing the referral and the recommendation -------------------------
    chair = as_person(page, live_server)
    try:
        sign_in(chair, "chair")
        open_task(chair, DECIDE)
        referral_card = chair.locator(".cpr-facts").filter(has=chair.get_by_role("heading", name="The referral"))
        assert "Admitted to hospital with unexplained injuries." in text_of(referral_card)
        assert f"{referral.day} {referral.strftime('%B')} {referral.year}" in text_of(referral_card)
        advice = chair.locator(".cpr-facts").filter(
            has=chair.get_by_role("heading", name="The Review Sub-Group's recommendation")
        )
        assert "A concise Child Practice Review." in text_of(advice)
        assert chair.get_by_label("Decided by").count() == 0  # the service knows who is signed in
        assert no_sideways_scroll(chair)
        shot(chair, "decision-01-chair-sees-referral-and-recommendation-375px")

        chair.get_by_role("radio", name="Concise review").check()
        chair.get_by_label("Rationale").fill("The criteria for a concise review are met.")
        fill_date(
            chair, "Date of the Board's decision", date.today()
        )  # when the Board met: an event, not today's stamp
        chair.get_by_role("button", name="Complete").click()

        # checked before it counts: the answers back, with a way to change them
        chair.get_by_role("heading", level=1, name="Check your answers").wait_for()
        answers = text_of(chair.locator("main"))
        assert "Concise review" in answers and "The criteria for a concise review are met." in answers
        assert chair.get_by_role("link", name="Change your answers").is_visible()
        assert no_sideways_scroll(chair)
        shot(chair, "decision-02-check-your-answers-375px")
        chair.get_by_role("button", name="Confirm and complete").click()

        chair.get_by_role("heading", level=1, name=f"Review #{review_id}").wait_for()
        said = text_of(chair.locator("main"))
        assert f"Done: {DECIDE}" in said
        assert "What happens next: for a concise or extended review the Business Unit notifies" in said
        shot(chair, "decision-03-what-happens-next-375px")
    finally:
        chair.context.close()

    done = [e for e in services.list_events(live_db, review_id) if e.kind == "task_completed"][-1]
    assert done.actor == "chair" and done.detail["data"]["completed_by_name"] == "Chair"
    assert done.detail["data"]["completed_on"] == date.today().isoformat()
    assert services.get_instance(live_db, review_id).data["decision"] == "concise"


def test_the_chairs_decision_page_in_welsh_at_phone_width(page: Any, live_server: str, live_db: Database) -> None:
    add_user(live_db, "chair", "board_chair")
    review_id = start_review(live_db)
    from tests.scenarios import cpr

    now = services.list_tasks(live_db, instance_id=review_id)[0].ready_at
    for bpmn_id, data in (("record_referral", cpr.referral()), ("screen_referral", cpr.screening())):
        task = services.list_tasks(live_db, instance_id=review_id)[0]
        assert task.bpmn_id == bpmn_id
        services.complete_task(live_db, task.id, data, actor="someone", now=now)
    page.set_viewport_size(PHONE)
    sign_in(page, "chair")
    page.get_by_role("button", name="Cymraeg").click()
    page.get_by_role("heading", level=1, name="Fy nhasgau").wait_for()
    open_task(page, "Cofnodi penderfyniad y Bwrdd")  # the task's Welsh name, from the diagram
    assert page.get_by_role("heading", name="Yr atgyfeiriad").is_visible()
    assert page.get_by_role("heading", name="Argymhelliad yr Is-grŵp Adolygu").is_visible()
    assert "Mae'r meini prawf wedi'u bodloni" in text_of(page.locator("main"))  # the table's reason, in Welsh
    assert no_sideways_scroll(page)
    shot(page, "decision-04-chair-welsh-375px")
