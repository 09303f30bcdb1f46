"""Whole reviews never stall or mislead (#20): holds sent by the Board Chair, what a task holder
may open, message payloads checked before they reach the diagram, one record of holds, form rules
on the facts a task shows, agencies' own actions, and referrals carried over to the next process.

The real diagrams, through the services, reloading the database between steps (``cpr.Review``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from cprflow import services
from cprflow.core import form_messages
from cprflow.core.access import Actor
from cprflow.core.errors import Forbidden, InvalidData, NotFound
from cprflow.db.database import Database
from cprflow.features import timescales
from cprflow.features.notifications import OUTBOX
from cprflow.services import documents, modeling, users
from tests.conftest import T0
from tests.scenarios import cpr
from tests.scenarios.cpr import (
    ALL_CLOSED,
    CLOSE,
    DIFFERENCE,
    DRAFT,
    NOTIFIED,
    Review,
    audit_cycle,
    hold,
    qa,
    release,
)

CHAIR = Actor("board.chair", frozenset({"board_chair"}))
BOARD = Actor("board.member", frozenset({"board_member"}))
POLICE = Actor("pc.police", frozenset({"agency"}), "police")
PERMISSIONS = "processes/permissions.json"


@pytest.fixture
def url(review_db: Database) -> str:
    return review_db.url


def refused(call: Any) -> InvalidData:
    with pytest.raises(InvalidData) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------------------------------------
# 1. Senders named in permissions.json send without reading the case


def test_the_board_chair_places_and_ends_a_hold(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    with cpr.opened(url) as db:
        services.send_message(
            db, r.id, "hold_started", hold("H1", ["learning_event"]), actor=CHAIR, now=cpr.at("2026-01-13")
        )
        services.send_message(db, r.id, "hold_ended", release("H1"), actor=CHAIR, now=cpr.at("2026-01-20"))
    assert [(h["hold_id"], h["started_on"], h["ended_on"], h["days"]) for h in r.data()["hold_register"]] == [
        ("H1", "2026-01-13", "2026-01-20", 7)
    ]


def test_a_sender_named_in_the_permission_data_sends_without_reading_the_case(url: str, review_db: Database) -> None:
    """Sending is its own right: a role the permission data names as a sender need not read the case."""
    permissions = json.loads(modeling.version_files(review_db, 1)[PERMISSIONS])
    for message in ("hold_started", "hold_ended"):
        permissions["message_senders"][message].append("board_member")
    modeling.deploy_edits(
        review_db, {PERMISSIONS: json.dumps(permissions, indent=2)}, actor="owner", now=cpr.at("2026-01-02")
    )
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    with cpr.opened(url) as db:
        with pytest.raises(NotFound):
            services.get_instance(db, r.id, actor=BOARD)  # no task in it, no right to read it
        services.send_message(
            db, r.id, "hold_started", hold("H1", ["learning_event"]), actor=BOARD, now=cpr.at("2026-01-13")
        )
        services.send_message(db, r.id, "hold_ended", release("H1"), actor=BOARD, now=cpr.at("2026-01-15"))
    assert [(h["hold_id"], h["days"]) for h in r.data()["hold_register"]] == [("H1", 2)]


def test_a_task_holder_who_may_not_send_is_told_why_and_a_stranger_learns_nothing(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    with cpr.opened(url) as db:
        with pytest.raises(Forbidden, match="may not send 'hold_started'"):
            services.send_message(
                db, r.id, "hold_started", hold("H1", ["publication"]), actor=POLICE, now=cpr.at("2026-01-23")
            )
        with pytest.raises(NotFound):
            services.send_message(
                db, r.id, "hold_started", hold("H1", ["publication"]), actor=BOARD, now=cpr.at("2026-01-23")
            )
    assert "hold_register" not in r.data() or r.data()["hold_register"] == []


# ---------------------------------------------------------------------------------------------
# 2. Whoever holds a task opens what it shows


def test_the_board_opens_the_draft_report_it_is_asked_to_approve(url: str) -> None:
    r = Review.start(url)
    cpr.to_draft(r)
    r.do("draft_report", DRAFT, "2026-03-25")
    r.do("panel_quality_assurance", qa("approve", "2026-04-02"), "2026-04-02")
    task = r.task("board_consideration")
    when = cpr.at("2026-04-03")
    with cpr.opened(url) as db:
        ref = services.get_task(db, task.id, actor=BOARD).data["draft_report_ref"]
        listed = documents.list_documents(db, BOARD, r.id, now=when)
        found, content = documents.download(db, BOARD, r.id, ref["document_id"], now=when)
        review = services.get_instance(db, r.id, actor=BOARD)
    assert [d.slot for d in listed] == ["draft_report"]  # nothing of the case beyond what the task shows
    assert (found.slot, found.version, content[:5]) == ("draft_report", ref["version"], b"%PDF-")
    assert (review.data, [t.bpmn_id for t in review.open_tasks]) == (
        {"stage": "board_consideration", "child_reference": "CPR-2026-017"},  # where it stands, and which case
        ["board_consideration"],
    )


# ---------------------------------------------------------------------------------------------
# 3. A message's payload is checked against the schema the diagram names, before the diagram runs


def test_a_hold_message_that_breaks_its_schema_is_refused_and_the_review_goes_on(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.send("hold_started", hold("H1", ["family_contact"]), "2026-01-21")
    before = (r.view().status, r.open(), r.data()["hold_register"])

    def send(name: str, payload: dict[str, Any]) -> InvalidData:
        return refused(lambda: r.send(name, payload, "2026-01-22"))

    assert send("hold_ended", release("H9")).fields == {
        "/hold_id": ["is not a hold of this review that is still active"]
    }
    assert send("hold_started", hold("H1", ["publication"])).fields == {
        "/hold_id": ["is already used by another hold of this review"]
    }
    bad = send("hold_started", hold("H2", ["the_moon"], kind="weather"))
    assert set(bad.fields) == {"/type", "/scope/0"}
    assert set(send("hold_ended", release("H1", end_date="2026-01-01")).fields) == {"/end_date"}
    assert set(send("hold_ended", {"hold_id": "H1", "ended_by": "Chair", "colour": "red"}).fields) == {"/colour"}
    assert (r.view().status, r.open(), r.data()["hold_register"]) == before
    assert not [e for e in r.events() if e.kind in ("error", "status_changed")]
    r.send("hold_ended", release("H1", end_date="2026-01-22"), "2026-01-22")
    assert r.data()["hold_register"][0]["days"] == 1


# ---------------------------------------------------------------------------------------------
# 4. One record of holds: ended holds stay ended, and the report counts from it


def overlapping_holds(r: Review, when: str) -> None:
    """Criminal 13 to 21 January (8 days), coroner 18 to 23 January (5): 10 days under a hold."""
    r.send("hold_started", hold("H1", ["practitioner_contact"], start_date="2026-01-13"), when)
    r.send(
        "hold_started",
        hold("H2", ["practitioner_contact"], kind="coroner", reason="Inquest", start_date="2026-01-18"),
        when,
    )
    r.send("hold_ended", release("H1", end_date="2026-01-21"), when)
    r.send("hold_ended", release("H2", "Inquest opened and adjourned", end_date="2026-01-23"), when)


def hold_figures(url: str, instance_id: int, as_of: str) -> tuple[dict[str, int], dict[str, int], int]:
    with cpr.opened(url) as db:
        row = next(
            t for t in timescales.per_review(db, as_of=date.fromisoformat(as_of)) if t.instance_id == instance_id
        )
    return row.hold_days_by_hold, row.hold_days, row.hold_days_total


def test_ended_holds_stay_ended_after_closure_and_the_report_counts_ten_days(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    overlapping_holds(r, "2026-01-24")
    expected = ({"H1": 8, "H2": 5}, {"coroner": 5, "criminal": 8}, 10)
    assert hold_figures(url, r.id, "2026-02-01") == expected
    cpr.accept_all(r)
    cpr.timelines(r)
    r.do("merge_summary_timeline", cpr.MERGE, "2026-02-12")
    r.do("family_involvement", cpr.FAMILY_DECLINED, "2026-03-01")
    r.do("learning_event", cpr.LEARNING, "2026-03-10")
    cpr.approve_report(r)
    cpr.publication(r)
    cpr.action_plan(r)
    assert r.tick("2026-07-18")
    r.do("review_publication", cpr.KEEP, "2026-07-18")
    audit_cycle(r, "2026-08-06", *ALL_CLOSED)
    r.do("report_difference_made", DIFFERENCE, "2027-01-10")
    view = r.do("close_review", CLOSE, "2027-01-15")

    assert view.status == "completed"
    assert [(h["hold_id"], h["type"], h["ended_on"], h["days"]) for h in view.data["hold_register"]] == [
        ("H1", "criminal", "2026-01-21", 8),
        ("H2", "coroner", "2026-01-23", 5),
    ]
    assert "holds" not in view.data  # no second copy to go stale
    assert view.data["days_on_hold"] == 10
    assert hold_figures(url, r.id, "2027-06-01") == expected


# ---------------------------------------------------------------------------------------------
# 5. Form rules on the facts a task shows, checked on submission


def test_an_extended_review_given_one_reviewer_is_refused_on_the_field(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, register=True, decide="extended")
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    r.do("establish_review_panel", cpr.PANEL, "2026-01-16")
    r.do("agree_terms_of_reference", cpr.TOR, "2026-01-19")
    bad = refused(lambda: r.do("appoint_reviewers", cpr.reviewers(1), "2026-01-20"))
    assert bad.fields == {"/reviewers": ["Appoint two reviewers for an extended review and one for a concise review"]}
    with cpr.opened(url) as db:
        schema = services.get_task(db, r.task("appoint_reviewers").id).schema
    assert form_messages.explain(schema, bad, "cy") == {
        "/reviewers": ["Penodwch ddau adolygydd ar gyfer adolygiad estynedig ac un ar gyfer adolygiad cryno"]
    }
    assert (r.view().status, r.open()) == ("running", ["appoint_reviewers"])
    r.do("appoint_reviewers", cpr.reviewers(2), "2026-01-20")
    assert r.data()["review_type"] == "extended"


def test_a_case_that_is_not_statutory_cannot_be_decided_as_a_concise_review(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, abuse=False)
    assert r.data()["review_type"] == "not_statutory"
    bad = refused(lambda: r.do("record_board_decision", cpr.decision("concise"), "2026-01-08"))
    assert list(bad.fields) == ["/decision"]
    assert r.open() == ["record_board_decision"]
    view = r.do("record_board_decision", cpr.decision("no_review"), "2026-01-08")
    assert (view.status, view.data["route"]) == ("completed", "no_review")


# ---------------------------------------------------------------------------------------------
# 6. The first form opens with values it accepts


def test_the_referral_form_sent_back_with_what_it_opened_with_is_accepted(url: str) -> None:
    r = Review.start(url)
    with cpr.opened(url) as db:
        opened = services.get_task(db, r.task("record_referral").id).data
    assert "child_date_of_birth" not in opened and "review_framework" not in opened  # no "" for a date or a choice
    assert opened["family_members"] == []
    view = r.do("record_referral", {**cpr.referral(), **opened}, "2026-01-05")
    assert view.data["stage"] == "screening"


# ---------------------------------------------------------------------------------------------
# 7. Agencies report on their own actions


def test_an_agency_sees_its_own_actions_and_reports_only_on_them(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    with cpr.opened(url) as db:
        shown = services.get_task(db, r.task("report_action_progress", "police").id).data["agency_actions"]
    assert shown == [
        {
            "action_id": "A1",
            "action": "Share referrals within 24 hours",
            "due_date": "2026-09-30",
            "audit_status": "on_track",
        }
    ]
    wrong = cpr.progress("police", "2026-08-06")
    wrong["action_updates"][0]["action_id"] = "A2"  # health's action
    bad = refused(lambda: r.do("report_action_progress", wrong, "2026-08-06", assignee="police"))
    assert bad.fields == {"/action_updates": ["Report only on your agency's actions listed on this form"]}
    r.do("report_action_progress", cpr.progress("police", "2026-08-06"), "2026-08-06", assignee="police")
    assert sorted(t.assignee or "" for t in r.tasks("report_action_progress")) == ["education", "health"]


# ---------------------------------------------------------------------------------------------
# 10. Events record the data a step changed, nothing else


def test_an_audit_cycle_timer_records_no_script_working_variables(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    assert r.tick("2026-08-06")
    fired = [e for e in r.events() if e.kind == "timer_fired"][-1]
    assert fired.detail["timers"] == ["audit_due"]
    assert not {"a", "s", "e"} & set(fired.detail["changes"])
    assert not {"a", "s", "e"} & set(r.data())


# ---------------------------------------------------------------------------------------------
# 9. A referral handed over starts the next process, and the cases link


def test_a_referral_routed_to_susr_starts_the_susr_with_the_referral_carried_over(url: str) -> None:
    r = Review.start(url)
    data = cpr.referral()
    del data["review_framework"]  # from 1 October 2024 the default is a SUSR
    view = r.do("record_referral", data, "2026-01-05")
    assert (view.status, view.data["route"]) == ("completed", "susr")
    link = view.data["follow_on"]
    assert link["process_id"] == "single_unified_safeguarding_review"
    susr = Review(url, link["instance_id"])
    assert susr.data()["referred_from"] == {"instance_id": r.id, "process_id": cpr.CPR}
    with cpr.opened(url) as db:
        shown = services.get_task(db, susr.task("susr_record_referral").id).data
    assert (shown["subject_reference"], shown["referral_date"]) == ("CPR-2026-017", "2026-01-05")
    assert [e.detail for e in r.events() if e.kind == "follow_on_started"] == [link]


def test_a_forum_requested_instead_of_a_review_starts_with_the_request(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, outcome="other", mapf=True, decide="mapf")
    view = r.do("notify_welsh_government", {"date_notified": "2026-01-09"}, "2026-01-09")
    assert view.status == "completed"
    forum = Review(url, view.data["follow_on"]["instance_id"])
    assert forum.view().process_id == cpr.FORUM
    assert forum.data()["referred_from"]["instance_id"] == r.id
    assert [(t.bpmn_id, t.lane) for t in forum.tasks()] == [("plan_forum", "Review Sub-Group")]
    with cpr.opened(url) as db:
        # it carries what the forum's start form asks, and its plan opens with them filled in
        form = services.start_form(db, cpr.FORUM, actor="bu.officer")
        assert form is not None
        answers = {key: forum.data()[key] for key in form.schema["properties"]}
        services.check_start(db, cpr.FORUM, answers, actor="bu.officer", now=cpr.at("2026-01-09"))
        shown = services.get_task(db, forum.task("plan_forum").id).data
    assert (shown["case_reference"], forum.data()["board_area"]) == ("CPR-2026-017", "Cwm Taf Morgannwg")
    assert shown["forum_purpose"] == r.data()["decision_rationale"] and "CPR-2026-017" in shown["forum_title"]


# ---------------------------------------------------------------------------------------------
# 8. Agencies are a list kept as data; a task nobody can see is reported


def test_an_agency_not_on_the_list_is_refused_in_the_referral_and_in_accounts(url: str) -> None:
    r = Review.start(url)
    data = cpr.referral()
    data["agencies_involved"] = [{"name": "Police"}, {"name": "health"}]
    bad = refused(lambda: r.do("record_referral", data, "2026-01-05"))
    assert list(bad.fields) == ["/agencies_involved/0/name"]
    with cpr.opened(url) as db:
        with pytest.raises(InvalidData) as caught:
            users.add_user(db, "pc.two", password="a long test password", roles=["agency"], agency="Police", now=T0)
        assert list(caught.value.fields) == ["/agency"]
        users.add_user(db, "pc.one", password="a long test password", roles=["agency"], agency="police", now=T0)


def test_a_timeline_task_no_account_can_see_is_reported_to_the_business_unit(url: str) -> None:
    with cpr.opened(url) as db:
        for username, roles, agency in (("bu@ctm.example", ["business_unit"], None), ("pc.one", ["agency"], "police")):
            users.add_user(db, username, password="a long test password", roles=roles, agency=agency, now=T0)
    r = Review.start(url)
    cpr.to_reviewers(r)
    unseen = [e.detail for e in r.events() if e.kind == "task_unseen"]
    assert sorted((d["bpmn_id"], d["assignee"]) for d in unseen if d["lane"] == "Agencies") == [
        ("submit_agency_timeline", "education"),
        ("submit_agency_timeline", "health"),
    ]
    with cpr.opened(url) as db, db.transaction(write=False) as session:
        told = session.execute(
            select(OUTBOX.c.recipient, OUTBOX.c.kind).where(
                OUTBOX.c.instance_id == r.id, OUTBOX.c.kind == "task_unseen"
            )
        ).all()
    assert {row.recipient for row in told} == {"bu@ctm.example"}
    assert len(told) == len(unseen)  # one report per task nobody can see, to the one Business Unit account


def test_who_hears_of_a_task_nobody_can_see_is_named_in_the_permission_data(url: str, tmp_path: Any) -> None:
    root = cpr.copy_diagrams(tmp_path)
    permissions = json.loads((root / "processes" / "permissions.json").read_text())
    permissions["unseen_task_notified"] = ["review_subgroup"]
    (root / "processes" / "permissions.json").write_text(json.dumps(permissions))
    cpr.deploy(url, root, when="2026-01-02")
    with cpr.opened(url) as db:
        for username, roles in (("bu@ctm.example", ["business_unit"]), ("rsg@ctm.example", ["review_subgroup"])):
            users.add_user(db, username, password="a long test password", roles=roles, now=T0)
    r = Review.start(url)
    cpr.to_reviewers(r)
    with cpr.opened(url) as db, db.transaction(write=False) as session:
        told = session.execute(
            select(OUTBOX.c.recipient).where(OUTBOX.c.instance_id == r.id, OUTBOX.c.kind == "task_unseen")
        ).all()
    assert told and {row.recipient for row in told} == {"rsg@ctm.example"}  # not the Business Unit
