"""What the system knows is never asked: who completed a step, their agency and the date are recorded
from the signed-in person and the clock, and the diagrams read them from there."""

from __future__ import annotations

import json

import pytest

from cprflow.db.database import Database
from tests.conftest import ROOT
from tests.scenarios import cpr
from tests.scenarios.cpr import Review


@pytest.fixture
def url(review_db: Database) -> str:
    return review_db.url


@pytest.mark.parametrize(
    "form, asked",
    [
        ("record_board_decision", {"decided_by"}),
        ("submit_agency_timeline", {"submitted_by", "submitted_date"}),
        ("report_action_progress", {"reported_by", "reported_date"}),
        ("susr_board_chair_decision", {"decided_date"}),
        ("audit_action_plan", {"auditor", "audit_date"}),
    ],
)
def test_forms_do_not_ask_who_is_signed_in_or_todays_date(form: str, asked: set[str]) -> None:
    schema = json.loads((ROOT / "forms" / f"{form}.schema.json").read_text())
    assert not asked & set(schema["properties"])


def test_the_agency_timeline_records_who_submitted_it_and_when_from_the_step(url: str) -> None:
    r = Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    cpr.timelines(r, "2026-02-10")  # each agency's own person submits (the driver acts as the assignee)
    timelines = r.data()["agency_timelines"]
    police = next(
        t for t in (timelines.values() if isinstance(timelines, dict) else timelines) if t["agency"] == "police"
    )
    assert (police["submitted_by"], police["submitted_date"]) == ("police", "2026-02-10")
    done = [e for e in r.events() if e.kind == "task_completed" and e.detail["bpmn_id"] == "submit_agency_timeline"]
    assert {(e.actor, e.detail["data"]["completed_by"], e.detail["data"]["completed_on"]) for e in done} >= {
        ("police", "police", "2026-02-10")
    }
    assert all(e.actor == e.detail["data"]["completed_by"] for e in done)


def test_the_board_decision_records_who_decided_without_asking(url: str) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    done = next(e for e in r.events() if e.kind == "task_completed" and e.detail["bpmn_id"] == "record_board_decision")
    assert (done.actor, done.detail["data"]["completed_by"]) == ("board.chair", "board.chair")
    assert done.detail["data"]["completed_on"] == "2026-01-08"


def test_the_audit_records_who_audited_and_when_from_the_step(url: str) -> None:
    r = Review.start(url)
    cpr.to_audit_loop(r)
    data = cpr.audit_cycle(r, "2026-08-06", *cpr.ALL_CLOSED)
    assert data["last_audit"]["audit_date"] == "2026-08-06"
    assert {a["last_audited"] for a in data["actions"]} == {"2026-08-06"}
    done = next(e for e in r.events() if e.kind == "task_completed" and e.detail["bpmn_id"] == "audit_action_plan")
    assert (done.actor, done.detail["data"]["completed_by"]) == ("subgroup.chair", "subgroup.chair")
