"""The review does what the primary sources say (processes/README.md, "Requirements and where they
are met"): clocks start from the event, stop and fire on the right day in Wales, and the steps come
in the order and to the people the guidance names. On the real diagrams, reloading between steps.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from cprflow import services
from cprflow.core import access
from cprflow.core.errors import Forbidden, InvalidData
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.scenarios.cpr import DELAY, LEAD, SECOND, Review, after_day, board, qa

FAMILY_TOOK_PART = {
    "family_wishes": "take_part",
    "family_informed_date": "2026-02-14",
    "meeting_date": "2026-02-24",
    "family_views_summary": "The mother felt nobody listened when she asked for help.",
    "child_views": "recorded",
    "child_views_summary": "He said he was scared at home and had told his teacher.",
    "family_recorded_date": "2026-03-01",
}


@pytest.fixture
def url(review_db: Database) -> str:
    return review_db.url


def pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data.get(k) for k in keys}


def fired(r: Review) -> list[str]:
    return [t for e in r.events() if e.kind == "timer_fired" for t in e.detail["timers"]]


def to_board(r: Review, day: str) -> None:
    """A concise review with its draft quality-assured on ``day``, waiting for the Board."""
    cpr.to_draft(r)
    r.do("draft_report", cpr.DRAFT, day)
    r.do("panel_quality_assurance", qa("approve", day), day)


# ---------------------------------------------------------------------------------------------
# 1. Alarms fire once the due day is over in Wales


def test_completing_on_the_due_day_raises_no_breach(url: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-07-01")
    assert r.data()["completion_due"] == "2026-07-05"
    assert not r.tick("2026-07-05", 0)  # the morning of the due day: nothing is late yet
    view = r.do("board_consideration", board("approve", "2026-07-05"), cpr.at("2026-07-05", 16))
    assert pick(view.data, "completion_date", "completed_within_timescale", "days_late") == {
        "completion_date": "2026-07-05",
        "completed_within_timescale": True,
        "days_late": 0,
    }
    assert not r.tick(after_day("2026-07-05"))
    assert "record_completion_delay" not in r.open()
    assert "completion_due_reached" not in fired(r)


def test_a_delay_task_is_withdrawn_when_the_review_completes(url: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-07-01")
    assert r.tick(after_day("2026-07-05"))
    assert "record_completion_delay" in r.open()
    r.do("board_consideration", board("approve", "2026-07-08"), "2026-07-08")
    assert "record_completion_delay" not in r.open()
    assert "delay_records" not in r.data()


def test_a_delay_recorded_before_completion_is_kept(url: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-07-01")
    assert r.tick(after_day("2026-07-05"))
    r.do("record_completion_delay", DELAY, "2026-07-06")
    view = r.do("board_consideration", board("approve", "2026-07-08"), "2026-07-08")
    assert [d["expected_completion_date"] for d in view.data["delay_records"]] == ["2026-10-31"]
    assert pick(view.data, "completed_within_timescale", "days_late") == {
        "completed_within_timescale": False,
        "days_late": 3,
    }


def test_the_action_plan_alarm_waits_for_the_end_of_its_due_day(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    assert r.data()["action_plan_due"] == "2026-05-13"
    assert not r.tick("2026-05-13", 22)
    r.do("finalise_action_plan", cpr.FINALISE, cpr.at("2026-05-13", 17))
    assert not r.tick(after_day("2026-05-13"))
    assert "action_plan_overdue" not in r.open()


def test_six_months_from_the_end_of_august_ends_on_the_last_day_of_february(url: str) -> None:
    """Item 5: the diagram's date and the timer engine count months alike at a month's end."""
    r = Review.start(url, "2026-08-31")
    r.do("record_referral", cpr.referral("2026-08-31"), "2026-08-31")
    assert r.data()["completion_due"] == "2027-02-28"
    r.do("screen_referral", cpr.screening(), "2026-09-01")
    r.do("record_board_decision", cpr.decision("concise", "2026-09-02"), "2026-09-02")
    r.do("notify_welsh_government", {"date_notified": "2026-09-03"}, "2026-09-03")
    r.tick("2027-02-28", 12)
    assert "completion_due_reached" not in fired(r)  # the due day itself is on time
    r.tick(after_day("2027-02-28"))
    assert "completion_due_reached" in fired(r)
    assert "record_completion_delay" in r.open()


# ---------------------------------------------------------------------------------------------
# 2. Clocks start from the day things happened, as entered and checked


def test_approval_recorded_later_than_the_meeting_runs_from_the_meeting(url: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-03-25")
    view = r.do("board_consideration", board("approve", "2026-04-01"), "2026-04-20")
    assert pick(view.data, "final_report_approved_date", "completion_date", "action_plan_due") == {
        "final_report_approved_date": "2026-04-01",
        "completion_date": "2026-04-01",
        "action_plan_due": "2026-04-29",  # the meeting + 4 weeks, not the day it was typed in
    }
    assert r.tick(after_day("2026-04-29"))
    assert "action_plan_overdue" in r.open()


@pytest.mark.parametrize(
    ("meeting", "why"),
    [("2026-04-21", "must be today or in the past"), ("2026-01-04", "must be on or after referral_date (2026-01-05)")],
)
def test_a_board_meeting_in_the_future_or_before_the_referral_is_refused(url: str, meeting: str, why: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-03-25")
    with pytest.raises(InvalidData) as refused:
        r.do("board_consideration", board("approve", meeting), "2026-04-20")
    assert refused.value.fields == {"/board_meeting_date": [why]}
    assert r.view().status == "running"
    assert r.open() == ["board_consideration"]
    assert "final_report_approved_date" not in r.data()


def test_the_decision_date_entered_starts_the_notification_clock(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r)
    with pytest.raises(InvalidData) as refused:
        r.do("record_board_decision", cpr.decision("concise", "2026-01-20"), "2026-01-12")
    assert refused.value.fields == {"/decision_date": ["must be today or in the past"]}
    view = r.do("record_board_decision", cpr.decision("concise", "2026-01-06"), "2026-01-12")
    assert pick(view.data, "decision_date", "notification_due", "panel_setup_due") == {
        "decision_date": "2026-01-06",
        "notification_due": "2026-01-11",
        "panel_setup_due": "2026-01-20",
    }


def test_the_referral_that_starts_the_clock_is_the_boards_referral_to_the_review_sub_group(url: str) -> None:
    r = Review.start(url)
    task = r.task("record_referral")
    assert task.instructions is not None
    assert (
        "The date of the referral to the Review Sub-Group (not the day an agency first reported the case) starts the 6-month clock"
        in task.instructions
    )
    with cpr.opened(r.url) as db:
        fields = services.get_task(db, task.id).schema["properties"]
    assert fields["referral_date"]["title"] == "Date referred to the Review Sub-Group"
    # The look-back's reference date: the event, or the day serious and permanent impairment was identified.
    assert fields["event_date"]["title"] == "Reference date"
    assert "identified it" in fields["event_date"]["description"]
    view = r.do("record_referral", cpr.referral("2026-01-05"), "2026-01-05")
    assert view.data["completion_due"] == "2026-07-05"  # six months from the referral to the Sub-Group


def test_a_referral_dated_in_the_future_is_refused(url: str) -> None:
    r = Review.start(url)
    with pytest.raises(InvalidData) as refused:
        r.do("record_referral", cpr.referral("2026-01-06"), "2026-01-05")
    assert refused.value.fields == {"/referral_date": ["must be today or in the past"]}
    assert r.open() == ["record_referral"]


# ---------------------------------------------------------------------------------------------
# 6. The family's perspective exists before practitioners meet


def test_the_learning_event_waits_for_the_familys_involvement(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    cpr.timelines(r)
    r.do("merge_summary_timeline", cpr.MERGE, "2026-02-12")
    assert r.open() == ["family_involvement"]  # practitioners do not meet before the family is heard
    view = r.do("family_involvement", FAMILY_TOOK_PART, "2026-03-01")
    assert pick(view.data, "family_wishes", "family_views_summary") == {
        "family_wishes": "take_part",
        "family_views_summary": FAMILY_TOOK_PART["family_views_summary"],
    }
    assert r.open() == ["learning_event"]
    r.do("learning_event", cpr.LEARNING, "2026-03-10")
    assert r.open() == ["draft_report"]


# ---------------------------------------------------------------------------------------------
# 7. Two reviewers working together


def desks(r: Review) -> list[tuple[str, str | None]]:
    return sorted((t.bpmn_id, t.assignee) for t in r.tasks())


def test_both_reviewers_of_an_extended_review_take_part(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r, "extended")
    cpr.accept_all(r)
    cpr.timelines(r)
    both = sorted([LEAD, SECOND])
    assert desks(r) == [("merge_summary_timeline", who) for who in both]
    r.do("merge_summary_timeline", cpr.MERGE, "2026-02-12", assignee=SECOND)
    assert r.data()["summary_timeline"] == cpr.MERGE["summary_timeline"]  # the second reviewer's work counts
    assert desks(r) == [("family_involvement", who) for who in both]
    r.do("family_involvement", FAMILY_TOOK_PART, "2026-03-01", assignee=SECOND)
    assert desks(r) == [("learning_event", who) for who in both]
    r.do("learning_event", cpr.LEARNING, "2026-03-10", assignee=LEAD)
    assert desks(r) == [("draft_report", who) for who in both]
    r.do("draft_report", cpr.DRAFT, "2026-03-25", assignee=SECOND)
    r.do("panel_quality_assurance", qa("return", "2026-04-01", "Say more on the police's duties"), "2026-04-01")
    assert desks(r) == [("revise_draft_report", who) for who in both]
    view = r.do("revise_draft_report", cpr.revision(1, "Expanded"), "2026-04-05", assignee=SECOND)
    working = ("summary_reviewer", "family_reviewer", "learning_reviewer", "drafting_reviewer", "revising_reviewer")
    assert not [k for k in working if k in view.data]  # whose task it was is not left in the case data
    assert desks(r) == [("panel_quality_assurance", None)]
    completed_by = {(e.detail["bpmn_id"], e.actor) for e in r.events() if e.kind == "task_completed"}
    assert {("merge_summary_timeline", SECOND), ("learning_event", LEAD), ("draft_report", SECOND)} <= completed_by


def test_a_concise_review_has_one_reviewer_at_each_step(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    cpr.timelines(r)
    assert desks(r) == [("merge_summary_timeline", LEAD)]


# ---------------------------------------------------------------------------------------------
# 11. Learning is shared whatever happens to publication


def test_learning_is_disseminated_while_publication_is_held(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    assert "disseminate_learning" in r.open()  # from the Board's approval, before any publication step
    r.do("submit_final_report", cpr.SUBMIT, "2026-04-20")
    view = r.do("prepare_publication", cpr.prepare(criminal=True), "2026-04-22")
    assert view.data["publication_decision"] == "hold"  # live criminal proceedings hold publication
    assert "publish_report" not in r.open()
    view = r.do("disseminate_learning", cpr.DISSEMINATE, "2026-04-23")
    assert "disseminate_learning" not in r.open()
    assert view.data["dissemination"] == cpr.DISSEMINATE["dissemination"]


# ---------------------------------------------------------------------------------------------
# 10. The published report is the approved report


def test_a_draft_marked_not_anonymised_does_not_reach_the_board(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    r.do("draft_report", dict(cpr.DRAFT, anonymised=False), "2026-03-25", assignee=LEAD)
    view = r.do("panel_quality_assurance", qa("approve", "2026-04-02"), "2026-04-02")
    assert (view.data["stage"], view.data["panel_returns"]) == ("revision", 1)
    assert r.open() == ["revise_draft_report"]
    r.do("revise_draft_report", cpr.revision(1, "Anonymised"), "2026-04-05", assignee=LEAD)
    r.do("panel_quality_assurance", qa("approve", "2026-04-06"), "2026-04-06")
    assert "board_consideration" in r.open()


def test_the_same_version_is_approved_submitted_and_published(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    cpr.publication(r)
    data = r.data()
    assert data["published_report"] == {k: data["approved_report"][k] for k in ("document_id", "version", "filename")}
    assert data["published_report"]["version"] == 1


def test_a_report_changed_after_submission_goes_back_to_the_board_and_welsh_government(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    r.do("submit_final_report", cpr.SUBMIT, "2026-04-20")
    first = r.data()["approved_report"]
    # Someone corrects the final report after it went to Welsh Government.
    changed = r.upload(
        "final_report", cpr.files.pdf("Final report", "Corrected wording."), "2026-04-21", actor="bu.officer"
    )
    assert changed["version"] == first["version"] + 1
    view = r.do("prepare_publication", cpr.prepare(), "2026-04-22")
    assert view.data["publication_decision"] == "back_to_board"
    assert "publish_report" not in r.open()
    assert ("rework_for_publication", "Board") in [(t.bpmn_id, t.lane) for t in r.tasks()]
    r.do("rework_for_publication", {"reapproval_meeting_date": "2026-04-28"}, "2026-04-29")
    assert "submit_final_report" in r.open()  # it goes to Welsh Government again
    r.do(
        "submit_final_report",
        dict(cpr.SUBMIT, final_report_ref=changed, submitted_to_wg_date="2026-04-30"),
        "2026-04-30",
    )
    r.do("prepare_publication", cpr.prepare("2026-05-01"), "2026-05-01")
    view = r.do("publish_report", cpr.publish("2026-05-02"), "2026-05-02")
    assert view.data["published_report"] == changed == view.data["approved_report"]
    assert [a["meeting_date"] for a in view.data["reapprovals"]] == ["2026-04-28"]
    assert view.data["completion_date"] == "2026-04-15"  # the review completed at the first approval


# ---------------------------------------------------------------------------------------------
# 8. Statutory duties and statutory plans reach the Panel and the Board


def form_values(r: Review, bpmn_id: str) -> dict[str, Any]:
    with cpr.opened(r.url) as db:
        return services.get_task(db, r.task(bpmn_id).id).data


def test_statutory_duties_and_plans_reach_the_panel_and_the_board(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r, "extended")
    r.do("draft_report", cpr.DRAFT, "2026-03-25", assignee=LEAD)  # no report on the statutory duties
    view = r.do("panel_quality_assurance", qa("approve", "2026-04-02"), "2026-04-02")
    assert view.data["stage"] == "revision"  # an extended review's draft must report on them
    r.do(
        "revise_draft_report",
        dict(cpr.revision(1, "Duties"), statutory_duties_summary=cpr.DUTIES_SUMMARY),
        "2026-04-05",
        assignee=LEAD,
    )
    for task in ("panel_quality_assurance", "board_consideration"):
        shown = form_values(r, task)
        assert shown["statutory_duties_summary"] == cpr.DUTIES_SUMMARY
        assert [(d["reviewer"], d["agency"], d["fulfilled"]) for d in shown["statutory_duties_examined"]] == [
            (LEAD, "police", "partly"),
            (SECOND, "police", "partly"),
        ]
        assert [(p["reviewer"], p["plan"], p["followed"]) for p in shown["statutory_plans_examined"]] == [
            (LEAD, "child_protection_plan", "partly"),
            (SECOND, "child_protection_plan", "partly"),
        ]
        if task == "panel_quality_assurance":
            r.do(task, qa("approve", "2026-04-06"), "2026-04-06")


def test_the_statutory_plans_must_be_examined(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r, "extended")
    r.do("accept_appointment", cpr.ACCEPT, "2026-01-22", assignee=LEAD)
    with pytest.raises(InvalidData) as refused:
        r.do(
            "examine_statutory_duties",
            {"statutory_duties": cpr.duties("lead")["statutory_duties"]},
            "2026-01-22",
            assignee=LEAD,
        )
    assert refused.value.fields == {"/statutory_plans": ["is required"]}


# ---------------------------------------------------------------------------------------------
# 12. The child's own views


def test_the_childs_own_views_are_recorded_beside_the_familys(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    cpr.timelines(r)
    r.do("merge_summary_timeline", cpr.MERGE, "2026-02-12")
    without = {k: v for k, v in FAMILY_TOOK_PART.items() if not k.startswith("child_")}
    with pytest.raises(InvalidData) as refused:
        r.do("family_involvement", without, "2026-03-01")
    assert refused.value.fields == {"/child_views": ["is required"]}
    view = r.do("family_involvement", FAMILY_TOOK_PART, "2026-03-01")
    assert view.data["child_perspective"] == {
        "child_views": "recorded",
        "summary": FAMILY_TOOK_PART["child_views_summary"],
    }
    assert view.data["family_views_summary"] == FAMILY_TOOK_PART["family_views_summary"]


# ---------------------------------------------------------------------------------------------
# 13. The audit asks about effect; the Board's strategic implications reach the action plan


def test_the_boards_strategic_implications_reach_the_action_plan(url: str) -> None:
    r = Review.start(url)
    to_board(r, "2026-04-02")
    implications = "Regional information sharing needs one protocol."
    r.do("board_consideration", dict(board("approve", "2026-04-15"), strategic_implications=implications), "2026-04-15")
    assert form_values(r, "finalise_action_plan")["strategic_implications"] == implications
    with pytest.raises(InvalidData) as refused:
        r.do("finalise_action_plan", {"actions": cpr.OUTLINE, "finalised_date": "2026-04-29"}, "2026-04-29")
    assert refused.value.fields == {"/strategic_implications_addressed": ["is required"]}
    view = r.do("finalise_action_plan", cpr.FINALISE, "2026-04-29")
    assert view.data["action_plan_strategic_implications"] == {
        "board": implications,
        "addressed": cpr.FINALISE["strategic_implications_addressed"],
    }


def test_the_panel_finalises_the_action_plan_from_the_outline_the_board_approved(url: str) -> None:
    # The Panel chair's form starts from the reviewers' outline: nobody types the plan out again.
    r = Review.start(url)
    to_board(r, "2026-04-02")
    r.do("board_consideration", board("approve", "2026-04-15"), "2026-04-15")
    assert form_values(r, "finalise_action_plan")["actions"] == cpr.OUTLINE


def test_an_agency_reports_on_each_of_its_open_actions_without_typing_their_references(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    with cpr.opened(r.url) as db:
        shown = services.get_task(db, r.task("report_action_progress", "police").id).data
    assert shown["action_updates"] == [{"action_id": "A1"}]  # the police's one action, to report on


def test_the_sub_group_audits_with_the_agencies_reports_and_the_plan_in_front_of_it(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    for agency in cpr.AGENCIES:
        r.do("report_action_progress", cpr.progress(agency, "2026-08-06", "complete"), "2026-08-06", assignee=agency)
    shown = form_values(r, "audit_action_plan")
    assert [(u["agency"], u["action_id"], u["status_reported"], u["evidence"]) for u in shown["reported_updates"]] == [
        ("police", "A1", "complete", "EV-A1"),
        ("health", "A2", "complete", "EV-A2"),
        ("education", "A3", "complete", "EV-A3"),
    ]
    assert [a["action_id"] for a in shown["actions"]] == ["A1", "A2", "A3"]  # every action to audit


def test_the_audit_records_the_effect_of_each_action(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    for agency in sorted(t.assignee for t in r.tasks("report_action_progress")):
        r.do("report_action_progress", cpr.progress(agency, "2026-08-06", "complete"), "2026-08-06", assignee=agency)
    done_only = cpr.audit("2026-08-06", *cpr.ALL_CLOSED)
    for row in done_only["actions"]:
        del row["effect"], row["making_a_difference"]
    with pytest.raises(InvalidData) as refused:
        r.do("audit_action_plan", done_only, "2026-08-06")
    assert "/actions/0/effect" in refused.value.fields
    r.do("audit_action_plan", cpr.audit("2026-08-06", *cpr.ALL_CLOSED), "2026-08-06")
    view = r.do("report_audit_progress", cpr.REPORT_PROGRESS, "2026-08-06")
    assert [(a["action_id"], a["making_a_difference"]) for a in view.data["actions"]] == [
        ("A1", "yes"),
        ("A2", "yes"),
        ("A3", "yes"),
    ]
    assert view.data["actions"][0]["effect"] == "Referrals now reach partners the same day."
    assert view.data["last_audit"]["making_a_difference"] == 3


# ---------------------------------------------------------------------------------------------
# 9. The area test


def test_the_area_test_is_where_the_abuse_or_neglect_happened(url: str) -> None:
    r = Review.start(url)
    r.do("record_referral", cpr.referral(), "2026-01-05")
    with cpr.opened(r.url) as db:
        field = services.get_task(db, r.task("screen_referral").id).schema["properties"]["in_board_area"]
    assert field["title"] == "Abuse or neglect known or suspected within this Board's area"
    assert "normally resident" not in field["description"]
    r.do("screen_referral", cpr.screening(in_area=False), "2026-01-08")
    assert r.data()["review_type"] == "not_this_board"
    assert r.open() == ["refer_to_other_board"]


# ---------------------------------------------------------------------------------------------
# 14. Forums


def test_the_letter_for_a_forum_calls_it_a_forum_and_promises_no_report(url: str) -> None:
    from cprflow.features import documents

    r = Review.start(url)
    cpr.to_decision(r, register=False, abuse=False, mapf=True, decide="mapf")
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    with cpr.opened(url) as db, db.transaction(write=False) as session:
        (letter,) = documents.list_for(session, r.id)
        text = " ".join((documents.text(session, letter.id) or "").split())
    assert "Multi-Agency Professional Forum" in text and "Fforwm Proffesiynol Amlasiantaethol" in text
    assert "mapf" not in text.lower() and "Child Practice Review CPR" not in text
    assert "final report" not in text and "action plan" not in text


def test_a_stand_alone_forum_notifies_welsh_government(url: str) -> None:
    forum = Review.start(url, "2026-02-01", process_id=cpr.FORUM)
    assert forum.open() == ["notify_welsh_government"]
    view = forum.do("notify_welsh_government", {"date_notified": "2026-02-02"}, "2026-02-02")
    assert view.data["notified_date"] == "2026-02-02"
    assert forum.open() == ["plan_forum"]


def test_a_forum_decided_on_a_referral_is_not_notified_twice(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, register=False, abuse=False, mapf=True, decide="mapf")
    view = r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    forum = Review(url, view.data["follow_on"]["instance_id"])  # started by the review with its request
    assert forum.open() == ["plan_forum"]


# ---------------------------------------------------------------------------------------------
# The criteria and routes the sources name, each driven through the real decision table


@pytest.mark.parametrize(
    ("outcome", "register", "expected"),
    [
        ("died", False, "concise"),
        ("life_threatening_injury", False, "concise"),
        ("serious_permanent_impairment", False, "concise"),
        ("life_threatening_injury", True, "extended"),
        ("serious_permanent_impairment", True, "extended"),
        ("other", False, "not_statutory"),
    ],
)
def test_each_outcome_the_sources_name_calls_for_a_review(
    url: str, outcome: str, register: bool, expected: str
) -> None:
    r = Review.start(url)
    cpr.to_decision(r, outcome=outcome, register=register)
    assert r.data()["review_type"] == expected


def test_no_known_or_suspected_abuse_means_no_statutory_review(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, abuse=False)
    assert r.data()["review_type"] == "not_statutory"
    assert r.open() == ["record_board_decision"]


def test_the_review_period_defaults_to_the_12_months_before_the_reference_date(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, outcome="serious_permanent_impairment", decide="concise")
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    r.do("establish_review_panel", cpr.PANEL, "2026-01-16")
    # For serious and permanent impairment the reference date is the day it was identified (event_date).
    shown = form_values(r, "agree_terms_of_reference")
    assert (shown["review_period_start"], shown["review_period_end"]) == ("2024-12-20", "2025-12-20")


def test_an_overdue_notification_to_welsh_government_reaches_the_board_chair(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    assert r.data()["notification_due"] == "2026-01-13"
    assert not r.tick("2026-01-13", 23)
    assert r.tick(after_day("2026-01-13"))
    assert ("notification_overdue", "Board Chair") in [(t.bpmn_id, t.lane) for t in r.tasks()]
    r.do("notification_overdue", {"action_taken": "Business Unit reminded"}, "2026-01-14")
    assert r.open() == ["notify_welsh_government"]


def test_the_board_may_decide_on_no_review_when_the_criteria_are_not_met(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, abuse=False, decide="no_review")
    view = r.view()
    assert (view.status, view.data["route"], view.data["stage"]) == ("completed", "no_review", "closed")


def test_another_review_process_takes_the_case(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, abuse=False, decide="adult_practice_review")
    assert r.data()["route"] == "adult_practice_review"
    view = r.do(
        "refer_to_other_review",
        {"receiving_body": "Adult Safeguarding Board", "date_referred": "2026-01-09"},
        "2026-01-09",
    )
    assert (view.status, view.data["stage"]) == ("completed", "closed")


# ---------------------------------------------------------------------------------------------
# 16. SUSR: each Home Office outcome has a path


@pytest.mark.parametrize("outcome", ["assured", "assured_with_comments"])
def test_an_assured_susr_goes_on_to_the_repository(url: str, outcome: str) -> None:
    from tests.scenarios.test_susr import HOME_OFFICE, SIGN_OFF, SUSR, to_sign_off

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_sign_off(r, ["domestic_homicide_review", "child_practice_review"])
    r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    view = r.do("susr_home_office_qa", dict(HOME_OFFICE, home_office_outcome=outcome), "2026-05-20")
    assert [t.bpmn_id for t in view.open_tasks] == ["susr_deposit_in_repository"]


def test_the_home_office_outcome_cannot_come_before_the_report_was_sent(url: str) -> None:
    from tests.scenarios.test_susr import HOME_OFFICE, SIGN_OFF, SUSR, to_sign_off

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_sign_off(r, ["domestic_homicide_review", "child_practice_review"])
    r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    sent = HOME_OFFICE["submitted_to_home_office_date"]
    before = (date.fromisoformat(sent) - timedelta(days=1)).isoformat()
    with pytest.raises(InvalidData) as refused:
        r.do("susr_home_office_qa", dict(HOME_OFFICE, home_office_outcome_date=before), "2026-05-20")
    assert list(refused.value.fields) == ["/home_office_outcome_date"]
    assert r.open() == ["susr_home_office_qa"]


def test_a_susr_the_home_office_does_not_assure_is_revised_and_signed_off_again(url: str) -> None:
    from tests.scenarios.test_susr import HOME_OFFICE, SIGN_OFF, SUSR, to_sign_off

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_sign_off(r, ["domestic_homicide_review", "child_practice_review"])
    r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    comments = "The chronology omits the GP's contact in May."
    view = r.do(
        "susr_home_office_qa",
        dict(HOME_OFFICE, home_office_outcome="not_assured", home_office_comments=comments),
        "2026-05-20",
    )
    assert [(t.bpmn_id, t.assignee) for t in view.open_tasks] == [("revise_draft_report", LEAD)]
    assert form_values(r, "revise_draft_report")["panel_feedback"] == comments
    r.do("revise_draft_report", cpr.revision(1, "GP contact added"), "2026-05-27", assignee=LEAD)
    r.do("susr_sign_off", dict(SIGN_OFF, signoff_date="2026-06-01"), "2026-06-01")
    assert r.open() == ["susr_home_office_qa"]  # back to the Home Office
    view = r.do("susr_home_office_qa", dict(HOME_OFFICE, home_office_outcome_date="2026-06-20"), "2026-06-20")
    assert [t.bpmn_id for t in view.open_tasks] == ["susr_deposit_in_repository"]


def test_a_susr_replacement_reviewer_comes_from_the_approved_list(url: str) -> None:
    from tests.scenarios.test_susr import APPOINT, CHAIR, CRG, NOTIFY, SUSR, susr_referral

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    r.do("susr_record_referral", susr_referral(), "2026-01-06")
    r.do("susr_case_review_group", CRG, "2026-01-09")
    r.do("susr_board_chair_decision", CHAIR, "2026-01-12")
    r.do("susr_notify_welsh_government", NOTIFY, "2026-01-13")
    r.do("susr_appoint_reviewers", APPOINT, "2026-01-20")
    r.do("accept_appointment", cpr.DECLINE, "2026-01-22", assignee=LEAD)
    with pytest.raises(InvalidData) as refused:
        r.do("appoint_replacement_reviewer", cpr.REPLACE, "2026-01-23")
    assert refused.value.fields == {
        "/replacement_approved_list_ref": ["Enter the replacement's entry on the Welsh Government approved list"]
    }
    r.do("appoint_replacement_reviewer", dict(cpr.REPLACE, replacement_approved_list_ref="WG-AL-311"), "2026-01-23")
    r.do("accept_appointment", cpr.ACCEPT, "2026-01-24", assignee=cpr.REPLACEMENT)
    assert r.data()["reviewer_usernames"] == [cpr.REPLACEMENT]
    assert ("family_involvement", cpr.REPLACEMENT) in [(t.bpmn_id, t.assignee) for t in r.tasks()]


def test_a_cpr_replacement_needs_no_approved_list_entry(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.do("accept_appointment", cpr.DECLINE, "2026-01-22")
    r.do("appoint_replacement_reviewer", cpr.REPLACE, "2026-01-23")
    assert r.open().count("accept_appointment") == 1


def test_welsh_government_cannot_be_recorded_as_notified_on_a_day_still_to_come(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    with pytest.raises(InvalidData) as refused:
        r.do("notify_welsh_government", dict(cpr.NOTIFIED, date_notified="2026-01-20"), "2026-01-12")
    assert list(refused.value.fields) == ["/date_notified"]
    assert "notify_welsh_government" in r.open()  # nothing recorded
    r.do("notify_welsh_government", dict(cpr.NOTIFIED, date_notified="2026-01-12"), "2026-01-12")


def test_a_publication_or_submission_cannot_be_recorded_on_a_day_still_to_come(url: str) -> None:
    """Every form date that records something done is bounded to today, not only the clock starters."""
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    with pytest.raises(InvalidData) as refused:
        r.do("submit_final_report", dict(cpr.SUBMIT, submitted_to_wg_date="2026-04-21"), "2026-04-20")
    assert list(refused.value.fields) == ["/submitted_to_wg_date"]
    assert "submit_final_report" in r.open()  # nothing recorded
    r.do("submit_final_report", dict(cpr.SUBMIT, submitted_to_wg_date="2026-04-20"), "2026-04-20")
    r.do("prepare_publication", cpr.prepare("2026-04-22"), "2026-04-22")
    with pytest.raises(InvalidData) as refused:
        r.do("publish_report", cpr.publish("2026-05-01"), "2026-04-25")
    assert list(refused.value.fields) == ["/published_date"]
    assert "publish_report" in r.open()


# ---------------------------------------------------------------------------------------------
# 4. Which event stops the 6-month clock is the process owner's decision (cpr_completion_clock.dmn)


def test_the_boards_approval_stops_the_clock_as_shipped(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    assert r.data()["completion_stops_at"] == "board_approval"  # decided as the review starts
    cpr.approve_report(r)
    assert pick(r.data(), "completion_stopped_by", "completion_date") == {
        "completion_stopped_by": "board_approval",
        "completion_date": "2026-04-15",
    }


@pytest.mark.parametrize(("event", "day"), [("submission", "2026-04-20"), ("publication", "2026-04-25")])
def test_changing_the_table_changes_the_event_that_stops_the_clock(
    url: str, tmp_path: Any, event: str, day: str
) -> None:
    root = cpr.copy_diagrams(tmp_path)
    table = root / "processes" / "cpr_completion_clock.dmn"
    table.write_text(table.read_text().replace('<text>"board_approval"</text>', f'<text>"{event}"</text>'))
    cpr.deploy(url, root, when="2026-01-02")
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    assert "completion_date" not in r.data()  # the Board's approval no longer completes the review
    cpr.publication(r)
    assert pick(r.data(), "completion_stops_at", "completion_stopped_by", "completion_date", "days_late") == {
        "completion_stops_at": event,
        "completion_stopped_by": event,
        "completion_date": day,
        "days_late": 0,
    }
    r.tick(after_day("2026-07-05"))
    assert "completion_due_reached" not in fired(r)  # stopped: no breach alarm at 6 months
    assert "record_completion_delay" not in r.open()


def test_a_clock_that_stops_at_publication_runs_on_while_publication_is_held(url: str, tmp_path: Any) -> None:
    root = cpr.copy_diagrams(tmp_path)
    table = root / "processes" / "cpr_completion_clock.dmn"
    table.write_text(table.read_text().replace('<text>"board_approval"</text>', '<text>"publication"</text>'))
    cpr.deploy(url, root, when="2026-01-02")
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    r.do("submit_final_report", cpr.SUBMIT, "2026-04-20")
    r.do("prepare_publication", cpr.prepare(criminal=True), "2026-04-22")  # publication held
    assert r.tick(after_day("2026-07-05"))
    assert "completion_due_reached" in fired(r)
    assert "record_completion_delay" in r.open()  # six months passed with the report unpublished
    assert "completion_date" not in r.data()


# ---------------------------------------------------------------------------------------------
# 15. Who decides on a review is a lane of its own, reassigned in permissions.json

CHAIR = access.Actor("board.chair", frozenset({"board_chair"}))
SUBGROUP = access.Actor("subgroup.chair", frozenset({"review_subgroup"}))


def work(r: Review, bpmn_id: str, data: dict[str, Any], day: str, person: access.Actor) -> services.InstanceView:
    """Complete the task as a signed-in person with these roles (permissions.json decides)."""
    with cpr.opened(r.url) as db:
        return services.complete_task(db, r.task(bpmn_id).id, data, actor=person, now=cpr.at(day))


def test_the_review_decision_is_a_lane_of_its_own_worked_by_the_board_chair_as_shipped(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r)
    assert [(t.bpmn_id, t.lane) for t in r.tasks()] == [("record_board_decision", "Review decision")]
    with pytest.raises(Forbidden):
        work(r, "record_board_decision", cpr.decision("concise"), "2026-01-08", SUBGROUP)
    work(r, "record_board_decision", cpr.decision("concise"), "2026-01-08", CHAIR)


def test_a_process_owner_gives_the_review_decision_to_the_review_sub_group(url: str, tmp_path: Any) -> None:
    root = cpr.copy_diagrams(tmp_path)
    permissions = root / "processes" / "permissions.json"
    rules = json.loads(permissions.read_text())
    rules["lanes"]["Review decision"] = ["review_subgroup"]  # as Eval2015 describes the review groups deciding
    permissions.write_text(json.dumps(rules, indent=2))
    cpr.deploy(url, root, when="2026-01-02")
    r = Review.start(url)
    cpr.to_decision(r)
    with pytest.raises(Forbidden):
        work(r, "record_board_decision", cpr.decision("concise"), "2026-01-08", CHAIR)
    work(r, "record_board_decision", cpr.decision("concise"), "2026-01-08", SUBGROUP)
    assert r.data()["decision"] == "concise"
    # The Board Chair's own tasks stay with the Board Chair.
    assert r.tick(after_day("2026-01-13"))
    assert ("notification_overdue", "Board Chair") in [(t.bpmn_id, t.lane) for t in r.tasks()]
    overdue = {"action_taken": "Business Unit reminded"}
    with pytest.raises(Forbidden):
        work(r, "notification_overdue", overdue, "2026-01-14", SUBGROUP)
    work(r, "notification_overdue", overdue, "2026-01-14", CHAIR)
