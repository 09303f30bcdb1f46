"""Timescales are data: processes/timescales.json sets the periods the review diagrams count with,
so a process owner changes one as a field (Process design > Timescales) and never edits a script."""

from __future__ import annotations

import json

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.db.store import TIMESCALES_KEY
from cprflow.diagrams import diagram_set
from cprflow.services import modeling
from tests.scenarios import cpr, test_susr
from tests.scenarios.cpr import Review, at, to_decision

SHIPPED = json.loads((cpr.DIAGRAMS / "processes" / "timescales.json").read_text())


@pytest.fixture
def url(review_db: Database) -> str:
    return review_db.url


def test_a_review_counts_with_the_timescales_of_the_version_it_started_on(url: str, review_db: Database) -> None:
    first = Review.start(url)
    assert first.data()[TIMESCALES_KEY] == {
        key: entry["duration"] for key, entry in SHIPPED["child_practice_review"].items()
    }
    edited = modeling.with_durations(
        json.dumps(SHIPPED), {("child_practice_review", "notification"): "P7D"}
    )  # what the Timescales page saves
    modeling.deploy_edits(review_db, {diagram_set.TIMESCALES_FILE: edited}, actor="owner", now=at("2026-01-02"))
    second = Review.start(url)
    for review in (first, second):
        to_decision(review, decide="concise")
    # Decided on 8 January: Welsh Government is told within 5 days on the old version, 7 on the new.
    assert first.data()["notification_due"] == "2026-01-13"
    assert second.data()["notification_due"] == "2026-01-15"
    assert first.task("notify_welsh_government").due_at.date().isoformat() == "2026-01-13"
    assert second.task("notify_welsh_government").due_at.date().isoformat() == "2026-01-15"
    assert second.data()["completion_due"] == "2026-07-05"  # the statutory 6 months, untouched


def test_a_susr_takes_its_audit_cadence_from_the_file(url: str) -> None:
    review = Review.start(url, "2026-01-06", process_id=test_susr.SUSR)
    review.do("susr_record_referral", test_susr.susr_referral(), "2026-01-06")
    review.do("susr_case_review_group", test_susr.CRG, "2026-01-09")
    review.do("susr_board_chair_decision", test_susr.CHAIR, "2026-01-12")
    cadence = SHIPPED["single_unified_safeguarding_review"]
    assert review.data()["audit_cycle_period"] == cadence["audit_cycle"]["duration"]
    assert review.data()["audit_reporting_period"] == cadence["audit_reporting"]["duration"]


def test_the_deploy_refuses_a_timescale_that_does_not_parse(review_db: Database) -> None:
    bad = json.dumps(SHIPPED).replace('"P5D"', '"five days"', 1)
    report = modeling.check_edits(review_db, {diagram_set.TIMESCALES_FILE: bad})
    assert not report.ok
    assert any("notification" in p.message for p in report.problems), report.problems
    assert services.list_versions(review_db)[0]["id"] == 1  # nothing deployed
