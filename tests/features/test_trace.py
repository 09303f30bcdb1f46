"""Two reviews on the real diagrams; their trace and timescale figures against values worked out by hand.

Review A (referral 5 January 2026): holds H1 criminal 13 Jan - 20 Mar (66 days), H2 disciplinary
20 Feb - 12 Mar (20 days, inside H1), H3 coroner 14 - 24 Apr (10 days); the Board approves the final
report on 15 April: 100 calendar days, within the 6 months (due 5 July). Working days from 5 Jan to
15 Apr: 72 weekdays less Good Friday (3 Apr) and Easter Monday (6 Apr) = 70.
Review B (referral 5 January 2026): agencies late, the 6 months pass (the Board Chair records why),
approved 1 September: 239 days, 58 days late. Working days: 171 weekdays less 3 Apr, 6 Apr, 4 May,
25 May and 31 Aug = 166.
Together (Cwm Taf Morgannwg, 2026): average 169.5 days to completion, 38.0 days on hold, 1 breach in 2.
"""

from __future__ import annotations

from datetime import date

from cprflow.db.database import Database
from cprflow.features import timescales, trace
from tests.scenarios import cpr
from tests.scenarios.cpr import (
    ACCEPT,
    DELAY,
    FAMILY_DECLINED,
    LEARNING,
    MERGE,
    NOTIFIED,
    PANEL,
    TOR,
    Review,
    hold,
    release,
)


def _review_with_holds(url: str) -> tuple[Review, dict[str, str]]:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    r.send("hold_started", hold("H1", ["learning_event", "practitioner_contact"]), "2026-01-13")
    r.do("establish_review_panel", PANEL, "2026-01-16")
    r.do("agree_terms_of_reference", TOR, "2026-01-19")
    r.do("appoint_reviewers", cpr.reviewers(1), "2026-01-20")
    r.do("accept_appointment", ACCEPT, "2026-01-22")
    cpr.timelines(r)
    r.do("merge_summary_timeline", MERGE, "2026-02-12")
    r.send("hold_started", hold("H2", ["practitioner_contact"], kind="disciplinary", reason="Hearing"), "2026-02-20")
    r.do("family_involvement", FAMILY_DECLINED, "2026-03-01")
    with cpr.opened(url) as db:
        held, _ = trace.build(db, r.id)
    r.send("hold_ended", release("H2", "Hearing concluded"), "2026-03-12")
    r.send("hold_ended", release("H1"), "2026-03-20")
    r.do("learning_event", LEARNING, "2026-03-25")
    cpr.approve_report(r)
    r.send(
        "hold_started",
        hold("H3", ["family_contact"], kind="coroner", reason="Inquest", start_date="2026-04-14"),
        "2026-04-16",
    )
    r.send("hold_ended", release("H3", "Inquest closed", end_date="2026-04-24"), "2026-04-26")
    cpr.publication(r)
    cpr.action_plan(r)
    return r, held.markers


def _late_review(url: str) -> Review:
    r = Review.start(url)
    cpr.to_reviewers(r)
    r.do("accept_appointment", ACCEPT, "2026-01-22")
    assert r.tick(cpr.after_day("2026-02-17"))
    cpr.timelines(r, "2026-03-10")
    r.do("chase_overdue_timelines", {"action_taken": "Chased health and education"}, "2026-03-10")
    assert r.tick(cpr.after_day("2026-07-05"))
    r.do("record_completion_delay", DELAY, "2026-07-06")
    r.do("merge_summary_timeline", MERGE, "2026-07-10")
    r.do("family_involvement", FAMILY_DECLINED, "2026-07-20")
    r.do("learning_event", LEARNING, "2026-08-01")
    r.do("draft_report", cpr.DRAFT, "2026-08-20")
    r.do("panel_quality_assurance", cpr.qa("approve", "2026-08-20"), "2026-08-20")
    r.do("board_consideration", cpr.board("approve", "2026-09-01"), "2026-09-01")
    return r


def test_trace_and_timescales_match_the_figures_worked_out_by_hand(review_db: Database) -> None:
    url = review_db.url
    a, held_markers = _review_with_holds(url)
    b = _late_review(url)

    # While H1 held it, the learning event's wait is marked held; what was done is marked completed.
    assert held_markers["learning_hold_released"] == "held"
    assert {k for k, v in held_markers.items() if v == "completed"} >= {
        "record_referral",
        "screen_referral",
        "record_board_decision",
        "notify_welsh_government",
        "establish_review_panel",
        "family_involvement",
    }

    with cpr.opened(url) as fresh:
        found, xml = trace.build(fresh, a.id)
        rows = {r.instance_id: r for r in timescales.per_review(fresh, as_of=date(2026, 10, 1))}
    assert xml is not None and found.diagram_file == "processes/child_practice_review.bpmn"
    assert found.markers["finalise_action_plan"] == "completed" and found.markers["approve_action_plan"] == "completed"
    assert "learning_hold_released" in found.markers
    assert found.path and all(f.startswith("Flow_") for f in found.path)
    holds_sent = [e for e in found.timeline if e.kind == "message_received"]
    assert [(e.data or {}).get("hold_id") for e in holds_sent] == ["H1", "H2", "H2", "H1", "H3", "H3"]
    completion = next(
        e for e in found.timeline if e.kind == "task_completed" and e.detail["bpmn_id"] == "board_consideration"
    )
    assert completion.changes is not None and completion.changes["completion_date"] == {
        "before": None,
        "after": "2026-04-15",
    }

    ra, rb = rows[a.id], rows[b.id]
    assert (ra.referral_date, ra.completion_due, ra.completion_date) == ("2026-01-05", "2026-07-05", "2026-04-15")
    assert (ra.elapsed_days, ra.elapsed_working_days, ra.breach, ra.days_late) == (100, 70, False, 0)
    assert ra.hold_days == {"coroner": 10, "criminal": 66, "disciplinary": 20}
    assert ra.hold_days_total == 76  # H2 lies inside H1 and counts once, as the diagram counts days_on_hold
    assert (ra.action_plan_due, ra.action_plan_finalised, ra.action_plan_in_time) == ("2026-05-13", "2026-04-29", True)
    assert (ra.published_date, ra.publication_period_due, ra.publication_kept) == ("2026-04-25", "2026-07-18", True)

    assert (rb.completion_due, rb.completion_date, rb.elapsed_days, rb.elapsed_working_days) == (
        "2026-07-05",
        "2026-09-01",
        239,
        166,
    )
    assert (rb.breach, rb.days_late, rb.hold_days_total) == (True, 58, 0)
    assert rb.delay_reasons == ["agency_information: Late timelines"]

    (group,) = timescales.by_board_and_year([ra, rb])
    assert (group.board, group.year, group.reviews, group.completed) == ("Cwm Taf Morgannwg", 2026, 2, 2)
    assert (group.average_elapsed_days, group.average_hold_days, group.breaches, group.decided, group.breach_rate) == (
        169.5,
        38.0,
        1,
        2,
        0.5,
    )
