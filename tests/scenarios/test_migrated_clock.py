"""A review that was already running when the clock-stop decision (cpr_completion_clock.dmn) came in,
and is moved onto the version that has it, never asked the table as it started: it gets the answer
of its new version at the next event that could stop the 6-month clock, instead of failing there."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from cprflow.db.database import Database
from cprflow.services import modeling
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, after_day, at

#: The review diagram as it was before the table (commit aa00397): the Board's approval always
#: stopped the clock, and nothing recorded which event did.
BEFORE_CLOCK_TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "before_clock_table"


def diagrams_before_clock_table(target: Path) -> Path:
    """Today's ``processes/`` and ``forms/`` with the review diagram from before the table, and no table."""
    root = cpr.copy_diagrams(target)
    shutil.copyfile(
        BEFORE_CLOCK_TABLE / "child_practice_review.bpmn", root / "processes" / "child_practice_review.bpmn"
    )
    (root / "processes" / "cpr_completion_clock.dmn").unlink()
    return root


@pytest.fixture
def url(db: Database) -> str:
    return db.url


def old_review(url: str, tmp_path: Path) -> Review:
    old = cpr.deploy(url, diagrams_before_clock_table(tmp_path / "old"))
    r = Review.start(url, "2026-01-05")
    assert r.view().version_id == old
    return r


def migrate(url: str, r: Review, root: Path, day: str) -> int:
    """Deploy ``root`` as a new version and move the review onto it, as a process owner would."""
    new = cpr.deploy(url, root, when=day)
    with cpr.opened(url) as db:
        [preview] = modeling.preview_migrations(db, new, actor="owner", now=at(day))
        assert (preview.instance_id, preview.movable, preview.reasons) == (r.id, True, [])
        modeling.migrate_instance(db, r.id, new, reason="the clock-stop table", actor="owner", now=at(day))
    assert r.view().version_id == new
    assert "completion_stops_at" not in r.data()  # it never asked the table
    return new


def table_says(tmp_path: Path, event: str) -> Path:
    root = cpr.copy_diagrams(tmp_path / "edited")
    table = root / "processes" / "cpr_completion_clock.dmn"
    table.write_text(
        table.read_text(encoding="utf-8").replace('<text>"board_approval"</text>', f'<text>"{event}"</text>')
    )
    return root


def stop(data: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "completion_stops_at",
        "completion_stopped_by",
        "completion_date",
        "days_late",
        "completed_within_timescale",
    )
    return {k: data.get(k) for k in keys}


def waiting_for_board(r: Review) -> None:
    cpr.to_draft(r)
    r.do("draft_report", cpr.DRAFT, "2026-03-25", assignee=cpr.LEAD)
    r.do("panel_quality_assurance", cpr.qa("approve", "2026-04-02"), "2026-04-02")
    assert r.open() == ["board_consideration"]


def test_a_review_moved_before_the_boards_approval_stops_its_clock_there(url: str, tmp_path: Path) -> None:
    r = old_review(url, tmp_path)
    waiting_for_board(r)
    migrate(url, r, cpr.DIAGRAMS, "2026-04-10")

    r.do("board_consideration", cpr.board("approve", "2026-04-15"), "2026-04-15")
    assert stop(r.data()) == {
        "completion_stops_at": "board_approval",  # the new version's answer, asked at the approval
        "completion_stopped_by": "board_approval",
        "completion_date": "2026-04-15",
        "days_late": 0,
        "completed_within_timescale": True,
    }
    cpr.publication(r)
    cpr.action_plan(r)
    assert stop(r.data())["completion_date"] == "2026-04-15"  # submission and publication leave it
    assert stop(r.data())["completion_stopped_by"] == "board_approval"
    r.tick(after_day("2026-07-05"))
    assert "record_completion_delay" not in r.open()  # the clock stopped: no breach at 6 months


@pytest.mark.parametrize(("event", "day"), [("submission", "2026-04-20"), ("publication", "2026-04-25")])
def test_a_review_moved_before_its_approval_stops_where_the_new_table_says(
    url: str, tmp_path: Path, event: str, day: str
) -> None:
    r = old_review(url, tmp_path)
    waiting_for_board(r)
    migrate(url, r, table_says(tmp_path, event), "2026-04-10")

    r.do("board_consideration", cpr.board("approve", "2026-04-15"), "2026-04-15")
    assert "completion_date" not in r.data()  # the approval no longer completes it
    cpr.publication(r)
    assert stop(r.data()) == {
        "completion_stops_at": event,
        "completion_stopped_by": event,
        "completion_date": day,
        "days_late": 0,
        "completed_within_timescale": True,
    }
    r.tick(after_day("2026-07-05"))
    assert "record_completion_delay" not in r.open()


@pytest.mark.parametrize("event", ["board_approval", "submission", "publication"])
def test_a_review_moved_after_its_approval_keeps_the_clock_its_old_version_stopped(
    url: str, tmp_path: Path, event: str
) -> None:
    """Its old version stopped the clock at the Board's approval; a clock that has stopped stays
    stopped, whatever the new version's table says about events still to come."""
    r = old_review(url, tmp_path)
    cpr.to_draft(r)
    cpr.approve_report(r)
    assert r.data()["completion_date"] == "2026-04-15"
    assert "submit_final_report" in r.open()
    migrate(url, r, cpr.DIAGRAMS if event == "board_approval" else table_says(tmp_path, event), "2026-04-16")

    cpr.publication(r)
    cpr.action_plan(r)
    assert stop(r.data()) == {
        "completion_stops_at": event,  # the new version's answer, asked at the submission and publication
        "completion_stopped_by": "board_approval",  # what its old version did
        "completion_date": "2026-04-15",
        "days_late": 0,
        "completed_within_timescale": True,
    }


def test_the_preview_names_the_new_elements_a_review_has_passed_and_will_not_run(url: str, tmp_path: Path) -> None:
    r = old_review(url, tmp_path)
    waiting_for_board(r)
    new = cpr.deploy(url, cpr.DIAGRAMS, when="2026-04-10")
    with cpr.opened(url) as db:
        [preview] = modeling.preview_migrations(db, new, actor="owner", now=at("2026-04-10"))
    assert preview.movable
    # Added before where it is: it will never ask the table there (the checks ahead of it will).
    behind = preview.changes["behind"]["child_practice_review"]
    assert "decide_completion_stop" in behind
    # and the later withdrawals at closure of the chases it has passed, nothing else
    chases = ("notification_overdue", "chase_overdue_timelines", "draft_report_overdue", "action_plan_overdue")
    withdrawals = {f"{chase}_{part}" for chase in chases for part in ("case_closed", "withdrawn")}
    assert set(behind) - {"decide_completion_stop"} <= withdrawals
    assert "ask_clock_stop_at_approval" in preview.changes["elements"]["child_practice_review"]["added"]
