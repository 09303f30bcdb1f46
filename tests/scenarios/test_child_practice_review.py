"""Child Practice Reviews end to end, on the real diagrams, through the services and the timer worker.

Each step reopens the database (see ``cpr.Review``), and time only moves when a step says so.
The assertions are what a Board would notice: the stage, the review type and route, the
statutory dates, whose desk a task is on, holds, delays, returns, audit cycles and closure.
"""

from __future__ import annotations

from typing import Any

import pytest

from cprflow import services
from cprflow.core.errors import InvalidData, ScriptFailed, TaskNotReady
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.scenarios.cpr import (
    ACCEPT,
    AGENCIES,
    ALL_CLOSED,
    APPROVE_PLAN,
    CLOSE,
    DECLINE,
    DELAY,
    DIFFERENCE,
    DRAFT,
    FAMILY_DECLINED,
    FINALISE,
    FORUM_DISSEMINATION,
    FORUM_LEARNING,
    HOLD_FORUM,
    KEEP,
    LEAD,
    LEARNING,
    MERGE,
    NOTIFIED,
    OTHER_BOARD,
    PANEL,
    PLAN_FORUM,
    PLAN_OVERDUE,
    REPLACE,
    REPLACEMENT,
    REPORT_PROGRESS,
    SECOND,
    SUBMIT,
    TOR,
    Review,
    after_day,
    at,
    audit,
    audit_cycle,
    board,
    decision,
    duties,
    hold,
    midnight,
    prepare,
    progress,
    publish,
    qa,
    release,
    revision,
)

CLOCK_AND_HOLDS = ["cpr_case_closed", "cpr_review_completed", "hold_ended", "hold_started"]


@pytest.fixture
def url(review_db: Database) -> str:
    """An upgraded SQLite database with the real processes/ and forms/ deployed."""
    return review_db.url


def pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data.get(k) for k in keys}


def desks(r: Review) -> list[tuple[str, str | None, str | None]]:
    """Open tasks as (element, lane, assignee), sorted."""
    return sorted((t.bpmn_id, t.lane, t.assignee) for t in r.tasks())


def completed(r: Review) -> list[str]:
    return [e.detail["bpmn_id"] for e in r.events() if e.kind == "task_completed"]


def form_values(r: Review, bpmn_id: str, assignee: str | None = None) -> dict[str, Any]:
    """What the person opening the task's form sees filled in."""
    with cpr.opened(r.url) as db:
        return services.get_task(db, r.task(bpmn_id, assignee).id).data


# ---------------------------------------------------------------------------------------------
# Whole reviews


def test_concise_review_from_referral_to_closure(any_db: Database) -> None:
    cpr.deploy(any_db.url)
    r = Review.start(any_db.url, "2026-01-05")
    assert desks(r) == [("record_referral", "Business Unit", None)]
    assert r.data()["stage"] == "referral"  # the register and case page name a stage from the start

    cpr.to_decision(r)
    assert pick(r.data(), "stage", "review_type", "criteria_review_type") == {
        "stage": "decision",
        "review_type": "concise",
        "criteria_review_type": "concise",
    }
    assert desks(r) == [("record_board_decision", "Review decision", None)]

    view = r.do("record_board_decision", decision("concise"), "2026-01-08")
    assert pick(view.data, "decision", "route", "stage", "completion_due", "notification_due", "panel_setup_due") == {
        "decision": "concise",
        "route": "cpr",
        "stage": "notification",
        "completion_due": "2026-07-05",  # referral (5 January) + 6 months
        "notification_due": "2026-01-13",
        "panel_setup_due": "2026-01-22",
    }
    assert view.data["timescales"]["completion"] == "P6M"
    notify = r.task("notify_welsh_government")
    assert (notify.lane, notify.due_at) == ("Business Unit", midnight("2026-01-13"))
    assert view.next_timer_at == after_day("2026-01-13")  # the notification's own deadline

    view = r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    assert view.data["stage"] == "panel_setup"
    assert view.next_timer_at == after_day("2026-07-05")  # now only the 6-month clock runs
    assert view.waiting_for == CLOCK_AND_HOLDS
    assert r.task("establish_review_panel").due_at == midnight("2026-01-22")

    r.do("establish_review_panel", PANEL, "2026-01-16")
    assert desks(r) == [("agree_terms_of_reference", "Review Panel", None)]
    r.do("agree_terms_of_reference", TOR, "2026-01-19")
    view = r.do("appoint_reviewers", cpr.reviewers(1), "2026-01-20")
    assert view.data["stage"] == "reviewers_and_timelines"
    assert pick(view.data, "lead_reviewer", "reviewer_usernames", "timelines_due") == {
        "lead_reviewer": LEAD,
        "reviewer_usernames": [LEAD],
        "timelines_due": "2026-02-17",
    }
    assert desks(r) == sorted(
        [("accept_appointment", "Reviewers", LEAD)] + [("submit_agency_timeline", "Agencies", a) for a in AGENCIES]
    )
    assert {t.due_at for t in r.tasks("submit_agency_timeline")} == {midnight("2026-02-17")}

    r.do("accept_appointment", ACCEPT, "2026-01-22")
    cpr.timelines(r)
    data = r.data()
    assert data["stage"] == "summary_timeline"
    assert [t["agency"] for t in data["agency_timelines"]] == AGENCIES
    assert [(x["username"], x["accepted_date"]) for x in data["reviewer_results"]] == [(LEAD, "2026-01-22")]
    assert desks(r) == [("merge_summary_timeline", "Reviewers", LEAD)]

    r.do("merge_summary_timeline", MERGE, "2026-02-12")
    assert r.data()["stage"] == "family_and_learning_event"
    assert r.open() == ["family_involvement"]  # the family first: practitioners then hear its perspective
    r.do("family_involvement", FAMILY_DECLINED, "2026-03-01")
    assert r.task("learning_event").due_at == midnight("2026-04-09")  # summary + 8 weeks
    r.do("learning_event", LEARNING, "2026-03-10")
    assert pick(r.data(), "stage", "draft_report_due") == {"stage": "draft_report", "draft_report_due": "2026-04-21"}
    assert r.task("draft_report", LEAD).due_at == midnight("2026-04-21")

    r.do("draft_report", DRAFT, "2026-03-25")
    assert desks(r) == [("panel_quality_assurance", "Review Panel", None)]
    r.do("panel_quality_assurance", qa("approve", "2026-04-02"), "2026-04-02")
    assert desks(r) == [("board_consideration", "Board", None)]
    view = r.do("board_consideration", board("approve", "2026-04-15"), "2026-04-15")
    assert pick(
        view.data,
        "stage",
        "completion_date",
        "completed_within_timescale",
        "days_late",
        "action_plan_due",
        "panel_returns",
        "board_returns",
    ) == {
        "stage": "publication_and_action_plan",
        "completion_date": "2026-04-15",
        "completed_within_timescale": True,
        "days_late": 0,
        "action_plan_due": "2026-05-13",
        "panel_returns": 0,
        "board_returns": 0,
    }
    assert "cpr_review_completed" not in view.waiting_for  # the 6-month clock has stopped
    assert view.next_timer_at == after_day("2026-05-13")  # the action plan's 4 weeks
    assert desks(r) == [
        ("disseminate_learning", "Review Sub-Group", None),  # learning is shared whatever happens to publication
        ("finalise_action_plan", "Review Panel", None),
        ("submit_final_report", "Business Unit", None),
    ]

    cpr.publication(r)
    assert pick(r.data(), "publication_status", "published_date", "publication_period_due") == {
        "publication_status": "published",
        "published_date": "2026-04-25",
        "publication_period_due": "2026-07-18",
    }
    view = r.do("finalise_action_plan", FINALISE, "2026-04-29")
    assert view.data["action_plan_status"] == "finalised"
    assert desks(r) == [("approve_action_plan", "Board", None)]
    with pytest.raises(InvalidData) as refused:  # not sent to Welsh Government before the Board approved it
        r.do("approve_action_plan", dict(APPROVE_PLAN, action_plan_submitted_to_wg_date="2026-05-05"), "2026-05-06")
    assert list(refused.value.fields) == ["/action_plan_submitted_to_wg_date"]
    view = r.do("approve_action_plan", APPROVE_PLAN, "2026-05-06")
    assert pick(view.data, "action_plan_status", "next_audit_due", "audit_cycle") == {
        "action_plan_status": "in_audit",
        "next_audit_due": "2026-08-06",
        "audit_cycle": 0,
    }
    assert (view.status, view.open_tasks, view.next_timer_at) == ("waiting", [], midnight("2026-07-18"))

    assert r.tick("2026-07-18")
    assert desks(r) == [("review_publication", "Business Unit", None)]
    r.do("review_publication", KEEP, "2026-07-18")
    assert r.data()["publication_status"] == "kept_published"
    assert r.view().next_timer_at == midnight("2026-08-06")

    data = audit_cycle(r, "2026-08-06", *ALL_CLOSED)
    assert pick(data, "audit_cycle", "all_actions_closed") == {"audit_cycle": 1, "all_actions_closed": True}
    assert data["last_audit"] == {
        "cycle": 1,
        "audit_date": "2026-08-06",
        "actions": 3,
        "closed": 3,
        "overdue": 0,
        "blocked": 0,
        "making_a_difference": 3,  # the audit asks about effect, not only whether it was done
        "escalated_to_board": False,
    }
    assert desks(r) == [("report_difference_made", "Board", None)]
    r.do("report_difference_made", DIFFERENCE, "2027-01-10")
    assert desks(r) == [("close_review", "Business Unit", None)]
    view = r.do("close_review", CLOSE, "2027-01-15")

    assert (view.status, view.next_timer_at, view.waiting_for, view.open_tasks) == ("completed", None, [], [])
    assert pick(
        view.data,
        "stage",
        "route",
        "review_type",
        "action_plan_status",
        "closure_date",
        "days_on_hold",
        "elapsed_days_to_completion",
        "elapsed_days_to_closure",
    ) == {
        "stage": "closed",
        "route": "cpr",
        "review_type": "concise",
        "action_plan_status": "closed",
        "closure_date": "2027-01-15",
        "days_on_hold": 0,
        "elapsed_days_to_completion": 100,
        "elapsed_days_to_closure": 375,
    }
    assert r.tasks() == []
    assert [e.detail["timers"] for e in r.events() if e.kind == "timer_fired"] == [
        ["publication_period_ended"],
        ["audit_due"],
    ]
    assert completed(r)[-3:] == ["report_audit_progress", "report_difference_made", "close_review"]
    assert len(completed(r)) == 31


def test_a_chase_left_undone_is_withdrawn_when_the_review_closes(url: str) -> None:
    """Was a bug: a chase opened by a missed deadline and never done kept the review running after
    its closure, shown as 'Closed' and 'In progress' for ever. Closing withdraws it; the lateness
    stays in the review's data and history."""
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    assert r.tick(after_day("2026-02-17"))  # the agencies' timelines are late: the Panel is to chase
    cpr.timelines(r, "2026-03-02")  # they arrive; nobody records the chase
    r.do("merge_summary_timeline", dict(MERGE, timeline_merged_date="2026-03-03"), "2026-03-03", assignee=LEAD)
    r.do("family_involvement", FAMILY_DECLINED, "2026-03-04", assignee=LEAD)
    r.do("learning_event", LEARNING, "2026-03-10", assignee=LEAD)
    cpr.approve_report(r)
    cpr.to_closure(r)
    assert r.open() == ["chase_overdue_timelines", "close_review"]

    view = r.do("close_review", CLOSE, "2027-01-15")

    assert (view.status, view.open_tasks, view.data["stage"]) == ("completed", [], "closed")
    assert r.tasks() == []  # gone from the Panel's list too


def test_extended_review_waits_for_both_reviewers(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r, "extended")
    data = r.data()
    assert pick(data, "review_type", "decision", "completion_due") == {
        "review_type": "extended",
        "decision": "extended",
        "completion_due": "2026-07-05",
    }
    assert "looked after" in data["review_type_reason"]
    assert [(x["slot"], x["username"]) for x in data["reviewers"]] == [("lead", LEAD), ("second", SECOND)]
    assert sorted(t.assignee for t in r.tasks("accept_appointment")) == sorted([LEAD, SECOND])

    cpr.timelines(r)
    assert r.open() == ["accept_appointment", "accept_appointment"]  # timelines in, reviewers not yet

    r.do("accept_appointment", ACCEPT, "2026-01-22", assignee=LEAD)
    assert desks(r) == [("accept_appointment", "Reviewers", SECOND), ("examine_statutory_duties", "Reviewers", LEAD)]
    r.do("examine_statutory_duties", duties("lead"), "2026-01-23", assignee=LEAD)
    assert desks(r) == [("accept_appointment", "Reviewers", SECOND)]  # the lead alone does not move it on
    assert r.data()["stage"] == "reviewers_and_timelines"

    r.do("accept_appointment", ACCEPT, "2026-01-24", assignee=SECOND)
    assert desks(r) == [("examine_statutory_duties", "Reviewers", SECOND)]  # nor does acceptance alone
    r.do("examine_statutory_duties", duties("second"), "2026-01-25", assignee=SECOND)

    data = r.data()
    assert data["stage"] == "summary_timeline"
    assert desks(r) == [("merge_summary_timeline", "Reviewers", SECOND), ("merge_summary_timeline", "Reviewers", LEAD)]
    results = [(x["slot"], x["accepted_date"], x["statutory_duties"][0]["findings"]) for x in data["reviewer_results"]]
    assert results == [
        ("lead", "2026-01-22", "lead: strategy meeting late"),
        ("second", "2026-01-24", "second: strategy meeting late"),
    ]
    assert data["reviewer_usernames"] == [LEAD, SECOND]

    r.do("merge_summary_timeline", MERGE, "2026-02-12", assignee=LEAD)
    r.do("family_involvement", FAMILY_DECLINED, "2026-03-01", assignee=SECOND)
    r.do("learning_event", LEARNING, "2026-03-10", assignee=LEAD)
    cpr.approve_report(r)
    assert pick(r.data(), "review_type", "completed_within_timescale", "stage") == {
        "review_type": "extended",
        "completed_within_timescale": True,
        "stage": "publication_and_action_plan",
    }


def test_criteria_not_met_leads_to_a_professional_forum(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, outcome="other", mapf=True)
    data = r.data()
    assert pick(data, "review_type", "suggested_routes", "stage") == {
        "review_type": "not_statutory",
        "suggested_routes": ["mapf"],
        "stage": "decision",
    }
    assert desks(r) == [("record_board_decision", "Review decision", None)]

    view = r.do("record_board_decision", decision("mapf"), "2026-01-08")
    assert pick(view.data, "route", "decision", "stage") == {
        "route": "mapf",
        "decision": "mapf",
        "stage": "notification",
    }
    assert desks(r) == [("notify_welsh_government", "Business Unit", None)]

    view = r.do("notify_welsh_government", {"date_notified": "2026-01-09"}, "2026-01-09")
    assert (view.status, view.next_timer_at, view.waiting_for) == ("completed", None, [])  # no 6-month clock
    assert pick(view.data, "route", "stage") == {"route": "mapf", "stage": "closed"}
    request = view.data["mapf_request"]
    assert request == {
        "child_reference": "CPR-2026-017",
        "board_area": "Cwm Taf Morgannwg",
        "referral_date": "2026-01-05",
        "agencies": AGENCIES,
        "reason": "Criteria considered by the Board.",
        "requested_date": "2026-01-09",
    }
    assert "establish_review_panel" not in completed(r)

    forum = Review(url, view.data["follow_on"]["instance_id"])  # started by the review's "Start the professional forum"
    assert desks(forum) == [("plan_forum", "Review Sub-Group", None)]
    # The register and the Board overview show where a forum is, as they do for a review.
    assert forum.data()["stage"] == "forum_planning"
    assert forum.do("plan_forum", PLAN_FORUM, "2026-01-12").data["stage"] == "forum_meeting"
    assert forum.do("hold_forum", HOLD_FORUM, "2026-02-20").data["stage"] == "forum_learning"
    assert forum.do("record_forum_learning", FORUM_LEARNING, "2026-02-20").data["stage"] == "dissemination"
    assert desks(forum) == [("disseminate_forum_learning", "Business Unit", None)]
    done = forum.do("disseminate_forum_learning", FORUM_DISSEMINATION, "2026-03-05")
    assert done.status == "completed" and done.data["stage"] == "closed"
    assert done.data["forum_outcome"] == {
        "title": "Learning from CPR-2026-017",
        "held_date": "2026-02-20",
        "learning_points": 1,
        "disseminated_date": "2026-03-05",
        "origin": "review_decision",
    }
    assert done.data["forum_request"] == request


def test_another_boards_case_is_referred_on(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, in_area=False)
    assert pick(r.data(), "review_type", "stage") == {"review_type": "not_this_board", "stage": "decision"}
    assert desks(r) == [("refer_to_other_board", "Business Unit", None)]  # no Board decision to record

    view = r.do("refer_to_other_board", OTHER_BOARD, "2026-01-08")
    assert (view.status, view.waiting_for, view.next_timer_at) == ("completed", [], None)
    assert pick(view.data, "route", "stage", "other_board") == {
        "route": "other_board",
        "stage": "closed",
        "other_board": "Gwent Safeguarding Board",
    }
    assert completed(r) == ["record_referral", "screen_referral", "refer_to_other_board"]


def test_panel_returns_the_draft_twice_and_the_board_challenges_once(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    r.do("draft_report", DRAFT, "2026-03-25")

    view = r.do("panel_quality_assurance", qa("return", "2026-03-30", "Analysis too thin"), "2026-03-30")
    assert pick(view.data, "stage", "panel_returns", "board_returns") == {
        "stage": "revision",
        "panel_returns": 1,
        "board_returns": 0,
    }
    assert desks(r) == [("revise_draft_report", "Reviewers", LEAD)]
    assert form_values(r, "revise_draft_report")["panel_feedback"] == "Analysis too thin"
    r.do("revise_draft_report", revision(2, "Deepened analysis"), "2026-04-03")
    assert desks(r) == [("panel_quality_assurance", "Review Panel", None)]

    r.do("panel_quality_assurance", qa("return", "2026-04-06", "Action plan vague"), "2026-04-06")
    assert r.data()["panel_returns"] == 2
    r.do("revise_draft_report", revision(3, "SMART actions"), "2026-04-08")
    r.do("panel_quality_assurance", qa("approve", "2026-04-09"), "2026-04-09")
    assert r.data()["stage"] == "board_consideration" and r.data()["draft_report_ref"]["version"] == 3

    view = r.do("board_consideration", board("return", "2026-04-13", "Regional implications missing"), "2026-04-13")
    assert pick(view.data, "stage", "panel_returns", "board_returns") == {
        "stage": "revision",
        "panel_returns": 2,
        "board_returns": 1,
    }
    assert "completion_date" not in view.data
    assert form_values(r, "revise_draft_report")["board_challenge"] == "Regional implications missing"
    r.do("revise_draft_report", revision(4, "Added regional implications"), "2026-04-14")
    assert desks(r) == [("panel_quality_assurance", "Review Panel", None)]  # the Panel sees it again first
    r.do("panel_quality_assurance", qa("approve", "2026-04-14"), "2026-04-14")
    view = r.do("board_consideration", board("approve", "2026-04-15"), "2026-04-15")

    assert pick(view.data, "panel_returns", "board_returns", "completion_date", "stage") == {
        "panel_returns": 2,
        "board_returns": 1,
        "completion_date": "2026-04-15",
        "stage": "publication_and_action_plan",
    }
    assert view.data["draft_report_ref"]["version"] == 4  # the first draft and three revisions
    assert completed(r).count("revise_draft_report") == 3
    assert completed(r).count("panel_quality_assurance") == 4


# ---------------------------------------------------------------------------------------------
# Holds for parallel proceedings


def test_criminal_hold_keeps_the_learning_event_back_until_released(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    view = r.send("hold_started", hold("H1", ["learning_event", "practitioner_contact"]), "2026-01-13")
    assert [(h["hold_id"], h["type"], h["started_on"], h["ended_on"]) for h in view.data["hold_register"]] == [
        ("H1", "criminal", "2026-01-13", None)
    ]
    assert view.data["stage"] == "panel_setup"  # the register does not change the review's stage

    # Everything else goes on: Panel, terms of reference, reviewers, timelines, summary, family.
    r.do("establish_review_panel", PANEL, "2026-01-16")
    r.do("agree_terms_of_reference", TOR, "2026-01-19")
    r.do("appoint_reviewers", cpr.reviewers(1), "2026-01-20")
    r.do("accept_appointment", ACCEPT, "2026-01-22")
    cpr.timelines(r)
    r.do("merge_summary_timeline", MERGE, "2026-02-12")
    assert r.open() == ["family_involvement"]  # the family comes first in any case
    # A second, overlapping hold (a disciplinary process) on practitioner contact.
    r.send("hold_started", hold("H2", ["practitioner_contact"], kind="disciplinary", reason="Hearing"), "2026-02-20")
    view = r.do("family_involvement", FAMILY_DECLINED, "2026-03-01")
    assert (view.status, view.open_tasks) == ("waiting", [])  # the learning event is not offered
    assert "hold_released" in view.waiting_for
    assert view.data["stage"] == "family_and_learning_event"
    assert not r.tick("2026-03-10")  # time passing does not release it
    r.send("hold_ended", release("H2", "Hearing concluded"), "2026-03-12")
    assert r.open() == []  # H1 still covers the learning event: it checks again and waits

    view = r.send("hold_ended", release("H1"), "2026-03-20")
    assert desks(r) == [("learning_event", "Reviewers", LEAD)]
    assert r.task("learning_event").due_at == midnight("2026-04-09")  # the deadline was not reset by the hold
    assert view.data["hold_register"][0] == {
        "hold_id": "H1",
        "type": "criminal",
        "reason": "Charging decision pending",
        "authorised_by": "Board Chair",
        "scope": ["learning_event", "practitioner_contact"],
        "started_on": "2026-01-13",
        "ended_on": "2026-03-20",
        "days": 66,
        "ended_by": "Board Chair",
        "end_reason": "Charging decision made",
    }
    assert [(h["hold_id"], h["started_on"], h["ended_on"], h["days"]) for h in view.data["hold_register"]] == [
        ("H1", "2026-01-13", "2026-03-20", 66),
        ("H2", "2026-02-20", "2026-03-12", 20),
    ]
    assert "hold_released" not in view.waiting_for

    r.do("learning_event", LEARNING, "2026-03-25")
    assert r.open() == ["draft_report"]
    cpr.approve_report(r)
    # A later hold, recorded after the event with the dates it really ran (nothing is left to hold).
    r.send(
        "hold_started",
        hold("H3", ["family_contact"], kind="coroner", reason="Inquest", start_date="2026-04-14"),
        "2026-04-16",
    )
    view = r.send("hold_ended", release("H3", "Inquest closed", end_date="2026-04-24"), "2026-04-26")
    assert view.data["hold_register"][2]["days"] == 10
    cpr.to_closure(r)
    view = r.do("close_review", CLOSE, "2027-01-15")
    assert view.status == "completed"
    # Calendar days under at least one hold: H1 (66) and H3 (10); H2 lay inside H1 and counts once.
    assert pick(view.data, "days_on_hold", "elapsed_days_to_completion", "completed_within_timescale") == {
        "days_on_hold": 76,
        "elapsed_days_to_completion": 100,
        "completed_within_timescale": True,
    }


def test_a_hold_recorded_while_the_learning_event_is_open_withdraws_it(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.do("accept_appointment", ACCEPT, "2026-01-22")
    cpr.timelines(r)
    r.do("merge_summary_timeline", MERGE, "2026-02-12")
    r.do("family_involvement", FAMILY_DECLINED, "2026-02-14")
    offered = r.task("learning_event")

    r.send("hold_started", hold("H2", ["practitioner_contact"]), "2026-02-15")
    assert r.open() == []
    r.send("hold_started", hold("H3", ["publication"], kind="coroner", reason="Inquest"), "2026-02-16")
    assert r.open() == []  # a publication hold does not bring it back

    r.send("hold_ended", release("H2"), "2026-03-02")
    assert r.open() == ["learning_event"]
    assert r.task("learning_event").id != offered.id
    with cpr.opened(url) as db, pytest.raises(TaskNotReady):
        services.complete_task(db, offered.id, LEARNING, actor=LEAD, now=at("2026-03-02"))
    assert [(h["hold_id"], h["ended_on"], h["days"]) for h in r.data()["hold_register"]] == [
        ("H2", "2026-03-02", 15),
        ("H3", None, None),
    ]


def test_publication_hold_lets_the_action_plan_proceed(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    r.send("hold_started", hold("H9", ["publication"], reason="Trial listed for June"), "2026-03-20")
    assert r.open() == ["draft_report"]  # drafting goes on
    cpr.approve_report(r)
    view = r.do("submit_final_report", SUBMIT, "2026-04-20")
    assert view.data["publication_status"] == "submitted"
    assert r.open() == ["disseminate_learning", "finalise_action_plan"]  # publication waits; plan and learning do not

    cpr.action_plan(r)
    r.do("disseminate_learning", cpr.DISSEMINATE, "2026-05-06")
    view = r.view()
    assert (view.status, view.data["action_plan_status"], view.next_timer_at) == (
        "waiting",
        "in_audit",
        midnight("2026-08-06"),
    )
    assert r.tick("2026-08-06")
    assert r.open() == ["report_action_progress"] * 3  # the audit runs while publication is held

    view = r.send("hold_ended", release("H9", "Verdict given"), "2026-08-10")
    assert r.open() == ["prepare_publication"] + ["report_action_progress"] * 3
    assert [(h["hold_id"], h["days"]) for h in view.data["hold_register"]] == [("H9", 143)]

    # The gate can also delay on the form's own answers: the coroner advises waiting.
    view = r.do("prepare_publication", prepare("2026-08-10", coroner=True), "2026-08-10")
    assert view.data["publication_decision"] == "hold"
    assert "publish_report" not in r.open() and "prepare_publication" not in r.open()
    assert view.next_timer_at == at("2026-09-07")  # asked again after 4 weeks
    assert not r.tick("2026-09-07", 8)
    assert r.tick("2026-09-07", 9)
    assert "prepare_publication" in r.open()
    r.do("prepare_publication", prepare("2026-09-08"), "2026-09-08")
    assert "publish_report" in r.open()
    view = r.do("publish_report", publish("2026-09-10"), "2026-09-10")
    assert pick(view.data, "publication_status", "publication_period_due") == {
        "publication_status": "published",
        "publication_period_due": "2026-12-03",
    }


# ---------------------------------------------------------------------------------------------
# Deadlines


def test_six_month_breach_is_recorded_while_the_review_continues(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.do("accept_appointment", ACCEPT, "2026-01-22")
    assert not r.tick("2026-02-17", 23)  # timelines are due on 17 February: that day is theirs
    assert r.tick(after_day("2026-02-17"))  # the agencies are late: the Panel is asked to chase
    assert ("chase_overdue_timelines", "Review Panel", None) in desks(r)
    cpr.timelines(r, "2026-03-10")
    r.do("chase_overdue_timelines", {"action_taken": "Chased health and education"}, "2026-03-10")
    merge = r.task("merge_summary_timeline")

    assert not r.tick("2026-07-05", 22)  # the due day (6 months from referral) is not over in Wales
    assert "record_completion_delay" not in r.open()
    assert r.tick(after_day("2026-07-05"))  # 23:00 UTC, midnight in Wales (summer time)
    assert desks(r) == [("merge_summary_timeline", "Reviewers", LEAD), ("record_completion_delay", "Board Chair", None)]
    assert r.task("merge_summary_timeline").id == merge.id  # the review's own work is untouched
    assert form_values(r, "record_completion_delay") == {"completion_due": "2026-07-05", "days_since_referral": 181}

    view = r.do("record_completion_delay", DELAY, "2026-07-05")
    assert view.data["delay_records"] == [
        {
            "recorded_date": "2026-07-05",
            "completion_due": "2026-07-05",
            "expected_completion_date": "2026-10-31",
            "reasons": [{"reason": "agency_information", "details": "Late timelines"}],
            "reported_to": "Board; WG",
            "recorded_by": "Board Chair",
        }
    ]
    assert view.data["stage"] == "summary_timeline"
    assert r.open() == ["merge_summary_timeline"]
    assert view.next_timer_at is None  # the clock does not fire again

    r.do("merge_summary_timeline", MERGE, "2026-07-10")
    r.do("family_involvement", FAMILY_DECLINED, "2026-07-20")
    r.do("learning_event", LEARNING, "2026-08-01")
    r.do("draft_report", DRAFT, "2026-08-20")
    r.do("panel_quality_assurance", qa("approve", "2026-08-20"), "2026-08-20")
    view = r.do("board_consideration", board("approve", "2026-09-01"), "2026-09-01")
    assert pick(view.data, "completion_date", "completed_within_timescale", "days_late") == {
        "completion_date": "2026-09-01",
        "completed_within_timescale": False,
        "days_late": 58,
    }
    assert len(view.data["delay_records"]) == 1
    assert "cpr_review_completed" not in view.waiting_for


def test_action_plan_not_finalised_within_four_weeks_goes_to_the_board(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    assert r.data()["action_plan_due"] == "2026-05-13"  # approval (15 April) + 4 weeks
    plan = r.task("finalise_action_plan")
    assert (plan.lane, plan.due_at) == ("Review Panel", midnight("2026-05-13"))

    assert not r.tick("2026-05-13", 22)  # due on 13 May: finishing that day is on time
    assert "action_plan_overdue" not in r.open()
    assert r.tick(after_day("2026-05-13"))
    assert ("action_plan_overdue", "Board", None) in desks(r)
    assert r.task("finalise_action_plan").id == plan.id  # still the Panel's to finish

    r.do("action_plan_overdue", PLAN_OVERDUE, "2026-05-13")
    assert r.open() == ["disseminate_learning", "finalise_action_plan", "submit_final_report"]
    view = r.do("finalise_action_plan", FINALISE, "2026-05-20")
    assert view.data["action_plan_status"] == "finalised"
    assert ("approve_action_plan", "Board", None) in desks(r)
    assert [e.detail["timers"] for e in r.events() if e.kind == "timer_fired"] == [["action_plan_overdue_timer"]]


def test_publication_review_comes_only_after_twelve_weeks_on_the_website(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    cpr.approve_report(r)
    cpr.publication(r, publish_day="2026-04-25")
    cpr.action_plan(r)
    assert r.data()["publication_period_due"] == "2026-07-18"  # published 25 April + 12 weeks
    assert r.view().next_timer_at == midnight("2026-07-18")

    assert not r.tick(at("2026-07-17", 23).replace(minute=59))
    assert "review_publication" not in r.open()
    assert r.tick("2026-07-18")
    assert desks(r) == [("review_publication", "Business Unit", None)]
    assert form_values(r, "review_publication")["publication_period_due"] == "2026-07-18"

    view = r.do(
        "review_publication",
        {"publication_decision_after_period": "take_down", "taken_down_date": "2026-07-20"},
        "2026-07-20",
    )
    assert view.data["publication_status"] == "taken_down"
    assert "close_review" not in r.open()  # the action plan is still being audited
    audit_cycle(r, "2026-08-06", *ALL_CLOSED)
    r.do("report_difference_made", DIFFERENCE, "2027-01-10")
    assert r.do("close_review", CLOSE, "2027-01-15").status == "completed"


# ---------------------------------------------------------------------------------------------
# The action plan audit


def test_eight_audit_cycles_with_an_overdue_escalation_then_closure(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    plan: list[tuple[dict[str, str], tuple[str, ...], list[str]]] = [
        ({}, (), []),
        ({"A1": "overdue"}, (), ["A1"]),
        ({"A1": "blocked", "A2": "complete"}, ("A2",), ["A1"]),
        ({"A2": "complete"}, ("A2",), []),
        ({"A2": "complete", "A3": "superseded"}, ("A2",), []),
        ({"A2": "complete", "A3": "superseded", "A1": "complete"}, ("A2",), []),
        ({"A2": "complete", "A3": "superseded", "A1": "complete"}, ("A2",), []),
        ({"A2": "complete", "A3": "superseded", "A1": "complete"}, ("A1", "A2"), []),
    ]
    dues = [
        "2026-08-06",
        "2026-11-06",
        "2027-02-06",
        "2027-05-06",
        "2027-08-06",
        "2027-11-06",
        "2028-02-06",
        "2028-05-06",
    ]
    reporting = [AGENCIES] * 3 + [["police", "education"]] * 2 + [["police"]] * 3
    summaries = []
    cycles = zip(plan, dues, reporting, strict=True)
    for cycle, ((statuses, accepted, escalated), due, agencies) in enumerate(cycles, 1):
        assert r.view().next_timer_at == midnight(due)
        assert not r.tick(at(due, 0).replace(day=int(due[8:]) - 1)), f"cycle {cycle} opened early"
        assert r.tick(due)
        progress_tasks = r.tasks("report_action_progress")
        assert sorted(t.assignee for t in progress_tasks) == sorted(agencies), f"cycle {cycle}"
        assert {(t.lane, t.due_at) for t in progress_tasks} == {("Agencies", at(due, 0).replace(day=20))}
        for agency in agencies:
            r.do(
                "report_action_progress",
                progress(agency, due, statuses.get(cpr.ACTION_OF[agency], "on_track")),
                due,
                assignee=agency,
            )
        assert desks(r) == [("audit_action_plan", "Review Sub-Group", None)]
        assert form_values(r, "audit_action_plan")["audit_cycle"] == cycle
        r.do("audit_action_plan", audit(due, statuses, accepted), due)
        if escalated:
            assert desks(r) == [("direct_escalated_actions", "Board", None)]
            shown = form_values(r, "direct_escalated_actions")["escalated_actions"]
            assert [a["action_id"] for a in shown] == escalated
            r.do(
                "direct_escalated_actions",
                {
                    "board_directions": [{"action_id": a, "direction": "Report monthly"} for a in escalated],
                    "board_meeting_date": due,
                },
                due,
            )
        assert desks(r) == [("report_audit_progress", "Business Unit", None)]
        data = r.do("report_audit_progress", REPORT_PROGRESS, due).data
        assert data["audit_cycle"] == cycle
        summaries.append(
            (
                data["last_audit"]["closed"],
                data["last_audit"]["overdue"],
                data["last_audit"]["blocked"],
                data["last_audit"]["escalated_to_board"],
                data["all_actions_closed"],
            )
        )

    assert summaries == [
        (0, 0, 0, False, False),
        (0, 1, 0, True, False),
        (1, 0, 1, True, False),
        (1, 0, 0, False, False),
        (2, 0, 0, False, False),
        (2, 0, 0, False, False),
        (2, 0, 0, False, False),
        (3, 0, 0, False, True),
    ]
    assert desks(r) == [("report_difference_made", "Board", None)]
    assert r.view().next_timer_at is None  # no ninth cycle
    r.do("report_difference_made", DIFFERENCE, "2028-07-10")
    view = r.do("close_review", dict(CLOSE, closure_date="2028-07-10"), "2028-07-10")
    assert view.status == "completed"
    assert pick(view.data, "stage", "audit_cycle", "action_plan_status", "all_actions_closed") == {
        "stage": "closed",
        "audit_cycle": 8,
        "action_plan_status": "closed",
        "all_actions_closed": True,
    }
    assert [(a["action_id"], a["audit_status"], a["evidence_accepted"]) for a in view.data["actions"]] == [
        ("A1", "complete", True),
        ("A2", "complete", True),
        ("A3", "superseded", False),
    ]
    assert [e.detail["timers"] for e in r.events() if e.kind == "timer_fired"].count(["audit_due"]) == 8


# ---------------------------------------------------------------------------------------------
# Reviewers, and the decision's integrity


def test_a_withdrawing_reviewer_is_replaced_and_the_review_keeps_its_state(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r, "extended")
    r.do("accept_appointment", ACCEPT, "2026-01-22", assignee=LEAD)
    r.do("accept_appointment", ACCEPT, "2026-01-22", assignee=SECOND)
    cpr.timelines(r)
    r.do("examine_statutory_duties", duties("lead"), "2026-02-11", assignee=LEAD)
    before = r.data()

    r.do("examine_statutory_duties", duties("second", withdraw=True), "2026-02-12", assignee=SECOND)
    assert desks(r) == [("appoint_replacement_reviewer", "Review Panel", None)]
    r.do("appoint_replacement_reviewer", REPLACE, "2026-02-13")
    assert desks(r) == [("accept_appointment", "Reviewers", REPLACEMENT)]
    assert form_values(r, "accept_appointment")["reviewer"]["username"] == REPLACEMENT
    r.do("accept_appointment", ACCEPT, "2026-02-14", assignee=REPLACEMENT)
    # The withdrawn reviewer's draft is kept for the replacement to take on.
    kept = form_values(r, "examine_statutory_duties", REPLACEMENT)["statutory_duties"]
    assert kept[0]["findings"] == "second: strategy meeting late"
    r.do("examine_statutory_duties", duties("second, revised"), "2026-02-16", assignee=REPLACEMENT)

    data = r.data()
    assert data["stage"] == "summary_timeline"
    # Both reviewers as they now stand are offered the summary: the replacement takes part at once.
    assert desks(r) == [
        ("merge_summary_timeline", "Reviewers", REPLACEMENT),
        ("merge_summary_timeline", "Reviewers", LEAD),
    ]
    assert data["reviewers"] == [
        {"slot": "lead", "username": LEAD, "name": "R. Lewis"},
        {"slot": "second", "username": REPLACEMENT, "name": "T. Evans"},
    ]
    assert data["reviewer_usernames"] == [LEAD, REPLACEMENT]
    lead, second = data["reviewer_results"]
    assert (lead["username"], lead["accepted_date"], lead["replacements"]) == (LEAD, "2026-01-22", [])
    assert lead["statutory_duties"][0]["findings"] == "lead: strategy meeting late"  # the lead's work is as it was
    assert second["replacements"] == [
        {
            "slot": "second",
            "withdrawn_username": SECOND,
            "reason": "Conflict of interest found",
            "replacement_username": REPLACEMENT,
            "date": "2026-02-13",
        }
    ]
    assert (second["username"], second["accepted_date"]) == (REPLACEMENT, "2026-02-14")
    for key in ("agency_timelines", "completion_due", "review_type", "timelines_due", "decision", "route"):
        assert data[key] == before[key], key
    assert completed(r).count("submit_agency_timeline") == 3  # nobody was asked again


def test_a_declining_concise_reviewer_is_replaced_as_lead(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.do("accept_appointment", DECLINE, "2026-01-22")
    assert desks(r) == sorted(
        [("appoint_replacement_reviewer", "Review Panel", None)]
        + [("submit_agency_timeline", "Agencies", a) for a in AGENCIES]
    )
    r.do("appoint_replacement_reviewer", dict(REPLACE, withdrawal_reason="Declined: unavailable"), "2026-01-23")
    r.do("accept_appointment", ACCEPT, "2026-01-24", assignee=REPLACEMENT)
    cpr.timelines(r)
    assert pick(r.data(), "lead_reviewer", "reviewer_usernames") == {
        "lead_reviewer": REPLACEMENT,
        "reviewer_usernames": [REPLACEMENT],
    }
    assert desks(r) == [("merge_summary_timeline", "Reviewers", REPLACEMENT)]


def test_a_tampered_decision_form_cannot_turn_a_statutory_review_into_no_review(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r)
    assert form_values(r, "record_board_decision")["review_type"] == "concise"
    # The review type is shown read-only: a submission that changes it is refused outright...
    with pytest.raises(InvalidData) as refused:
        r.do("record_board_decision", dict(decision("no_review"), review_type="not_statutory"), "2026-01-08")
    assert refused.value.fields == {"/review_type": ["is read-only"]}
    assert desks(r) == [("record_board_decision", "Review decision", None)]
    # ...and so is any decision but the review the criteria set, saying why at the decision: the
    # Board must undertake it (a concise review here, so neither "no review" nor an extended one).
    for other in ("no_review", "extended", "mapf"):
        with pytest.raises(InvalidData) as refused:
            r.do("record_board_decision", decision(other), "2026-01-08")
        assert list(refused.value.fields) == ["/decision"]
        assert "the Board must undertake the review they set" in refused.value.fields["/decision"][0]
        assert desks(r) == [("record_board_decision", "Review decision", None)]
    view = r.do("record_board_decision", decision("concise"), "2026-01-08")
    assert view.status == "running"
    assert pick(view.data, "review_type", "decision", "route", "stage") == {
        "review_type": "concise",
        "decision": "concise",
        "route": "cpr",
        "stage": "notification",
    }
    assert desks(r) == [("notify_welsh_government", "Business Unit", None)]


# ---------------------------------------------------------------------------------------------
# Regressions: bugs these scenarios found, each fixed and kept fixed here.


def test_decision_form_cannot_overwrite_the_criteria_copy(url: str) -> None:
    """Was a bug: forms accept fields they do not declare, so a decision form carrying
    ``criteria_review_type`` rewrites the copy ``apply_decision`` trusts and closes a statutory review."""
    r = Review.start(url)
    cpr.to_decision(r)
    tampered = dict(decision("no_review"), review_type="not_statutory", criteria_review_type="not_statutory")
    try:
        r.do("record_board_decision", tampered, "2026-01-08")
    except InvalidData:
        pass  # refusing the undeclared field is one acceptable fix
    view = r.view()
    assert view.status != "completed", "a statutory review was closed as 'no review' by a tampered form"
    assert view.data["criteria_review_type"] == "concise"
    assert view.data.get("route") in (None, "cpr")


def test_case_view_stays_current_while_an_escalation_task_is_open(url: str) -> None:
    """Was a bug: an escalation opened by a non-interrupting timer (here: the draft report is overdue) carries
    a copy of the data from when it opened, and while it stays open that copy overwrites the case view:
    the Board sees the old stage and no Panel returns."""
    r = Review.start(url)
    cpr.to_draft(r)
    assert r.tick(after_day("2026-04-21"))
    assert "draft_report_overdue" in r.open()
    r.do("draft_report", DRAFT, "2026-04-22")
    view = r.do("panel_quality_assurance", qa("return", "2026-04-23", "Analysis too thin"), "2026-04-23")
    assert "draft_report_overdue" in r.open()
    assert pick(view.data, "stage", "panel_returns") == {"stage": "revision", "panel_returns": 1}
    assert pick(r.data(), "stage", "panel_returns") == {"stage": "revision", "panel_returns": 1}
    # Nor may completing the escalation bring its old copy back.
    view = r.do("draft_report_overdue", {"action_taken": "Agreed a date with the reviewer"}, "2026-04-24")
    assert pick(view.data, "stage", "panel_returns") == {"stage": "revision", "panel_returns": 1}


def test_an_audit_that_leaves_actions_out_cannot_close_the_plan(url: str) -> None:
    """Was a bug: the audit trusts the submitted action list, so an audit listing only A1 (closed) reports every
    action closed: A2 and A3 vanish and the plan goes to closure."""
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    for agency in AGENCIES:
        r.do("report_action_progress", progress(agency, "2026-08-06"), "2026-08-06", assignee=agency)
    partial = audit("2026-08-06", {"A1": "complete"}, ("A1",))
    partial["actions"] = partial["actions"][:1]
    try:
        r.do("audit_action_plan", partial, "2026-08-06")
        if "report_audit_progress" in r.open():
            r.do("report_audit_progress", REPORT_PROGRESS, "2026-08-06")
    except (InvalidData, ScriptFailed):
        pass  # refusing the partial audit is one acceptable fix
    data = r.data()
    assert data["all_actions_closed"] is False
    assert sorted(a["action_id"] for a in data["actions"]) == ["A1", "A2", "A3"]
    assert "report_difference_made" not in r.open()


def test_dates_that_come_in_order_are_refused_out_of_order_at_the_later_one(url: str) -> None:
    r = Review.start(url, "2026-01-05")
    with pytest.raises(InvalidData) as refused:  # a referral cannot come before what it is about
        r.do("record_referral", dict(cpr.referral(), event_date="2026-01-06"), "2026-01-06")
    assert list(refused.value.fields) == ["/referral_date"]
    with pytest.raises(InvalidData) as refused:  # nor that before the child was born
        r.do("record_referral", dict(cpr.referral(), child_date_of_birth="2025-12-21"), "2026-01-06")
    assert list(refused.value.fields) == ["/event_date"]
    assert r.open() == ["record_referral"]
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    r.do("establish_review_panel", cpr.PANEL, "2026-01-16")
    with pytest.raises(InvalidData) as refused:  # a review period ends after it starts
        r.do("agree_terms_of_reference", dict(cpr.TOR, review_period_end="2024-12-19"), "2026-01-19")
    assert list(refused.value.fields) == ["/review_period_end"]
    assert r.open() == ["agree_terms_of_reference"]
