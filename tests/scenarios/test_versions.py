"""A new version of the diagrams changes new reviews only: running ones keep the timers and the
decision tables they started with."""

from __future__ import annotations

from pathlib import Path

from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, midnight


def edit(path: Path, old: str, new: str) -> None:
    """Plain text replacement, refusing to pass silently if the diagram no longer says ``old``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: expected '{old}' once, found it {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_reviews_keep_the_timers_and_decisions_of_the_version_they_started_on(db: Database, tmp_path: Path) -> None:
    v1 = cpr.deploy(db.url)
    old = Review.start(db.url, "2026-01-05")

    # A Board edits its diagrams: 2 weeks for the action plan, and every review that meets the
    # criteria is to be an extended one.
    v2_root = cpr.copy_diagrams(tmp_path / "v2")
    edit(
        v2_root / "processes" / "child_practice_review.bpmn",
        'action_plan_period = process_timescales["action_plan"]',
        'action_plan_period = "P2W"',
    )
    edit(v2_root / "processes" / "cpr_review_type.dmn", '<text>"concise"</text>', '<text>"extended"</text>')
    v2 = cpr.deploy(db.url, v2_root, when="2026-01-05")
    assert v2 != v1
    assert cpr.deploy(db.url, v2_root, when="2026-01-06") == v2  # the same files again are the same version

    new = Review.start(db.url, "2026-01-05")
    assert (old.view().version_id, new.view().version_id) == (v1, v2)

    # Same facts for both (not on the register, not looked after); the old review is screened only
    # now, after the new version is live, and still uses its own decision table.
    cpr.to_draft(old)
    cpr.to_draft(new)
    assert {t.version_id for t in old.tasks()} == {v1}
    assert {t.version_id for t in new.tasks()} == {v2}
    old_data, new_data = old.data(), new.data()
    assert (old_data["review_type"], old_data["decision"], len(old_data["reviewers"])) == ("concise", "concise", 1)
    assert (new_data["review_type"], new_data["decision"], len(new_data["reviewers"])) == ("extended", "extended", 2)
    assert new_data["route"] == old_data["route"] == "cpr"
    assert [x["statutory_duties"] != [] for x in new_data["reviewer_results"]] == [True, True]

    cpr.approve_report(old)
    cpr.approve_report(new)  # both approved on 15 April
    assert (old.data()["timescales"]["action_plan"], new.data()["timescales"]["action_plan"]) == ("P4W", "P2W")
    assert (old.data()["action_plan_due"], new.data()["action_plan_due"]) == ("2026-05-13", "2026-04-29")
    assert old.task("finalise_action_plan").due_at == midnight("2026-05-13")
    assert new.task("finalise_action_plan").due_at == midnight("2026-04-29")
    assert (old.view().next_timer_at, new.view().next_timer_at) == (
        cpr.after_day("2026-05-13"),
        cpr.after_day("2026-04-29"),
    )

    assert cpr.tick(db.url, cpr.after_day("2026-04-29")) == [new.id]  # the new review's 2 weeks are up
    assert "action_plan_overdue" in new.open() and "action_plan_overdue" not in old.open()
    assert cpr.tick(db.url, "2026-05-13", 22) == []
    assert cpr.tick(db.url, cpr.after_day("2026-05-13")) == [old.id]  # the old review's 4 weeks
    assert "action_plan_overdue" in old.open()
    assert (old.view().version_id, new.view().version_id) == (v1, v2)
