"""The review does what the primary sources say (processes/README.md, "Requirements and where they
are met"): clocks start from the event, stop and fire on the right day in Wales, and the steps come
in the order and to the people the guidance names. On the real diagrams, reloading between steps.
"""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.core.errors import InvalidData
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.scenarios.cpr import DELAY, Review, after_day, board, qa


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


def test_a_referral_dated_in_the_future_is_refused(url: str) -> None:
    r = Review.start(url)
    with pytest.raises(InvalidData) as refused:
        r.do("record_referral", cpr.referral("2026-01-06"), "2026-01-05")
    assert refused.value.fields == {"/referral_date": ["must be today or in the past"]}
    assert r.open() == ["record_referral"]
