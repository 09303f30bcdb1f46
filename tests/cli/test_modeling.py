"""`cprflow export` writes a version back to the files; `cprflow migrate` previews and moves."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cprflow.cli import main
from cprflow.db.database import Database
from cprflow.services import modeling
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, at

BPMN = "processes/child_practice_review.bpmn"


def run(db: Database, *args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["--json", *args], env={"CPRFLOW_DATABASE_URL": db.url})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_export_writes_a_web_edit_back_to_processes(review_db: Database, tmp_path: Path) -> None:
    db = review_db
    text = modeling.version_files(db, 1)[BPMN].replace(
        'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'
    )
    v2 = modeling.deploy_edits(db, {BPMN: text}, actor="olwen", now=at("2026-02-01")).version_id
    checkout = cpr.copy_diagrams(tmp_path / "checkout")
    assert run(db, "export", str(v2), str(checkout))["written_or_removed"] == [BPMN]
    assert 'action_plan_period = "P2W"' in (checkout / BPMN).read_text()
    # Deploying the exported files is the same version: the files and the database agree.
    assert run(db, "deploy", "--dir", str(checkout / "processes"), "--forms", str(checkout / "forms")) == {
        "version_id": v2,
        "created": False,
        "content_hash": modeling.version_info(db, v2)["content_hash"],
        "processes": modeling.version_info(db, v2)["processes"],
        "current_version_id": v2,
        "message": f"unchanged: these files are version {v2}, which new reviews already start on",
        "warnings": [],  # nothing lacks Welsh
    }


def test_migrate_previews_then_moves_every_movable_instance(review_db: Database) -> None:
    db = review_db
    review = Review.start(db.url, "2026-01-05")
    text = modeling.version_files(db, 1)[BPMN].replace(
        'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'
    )
    v2 = modeling.deploy_edits(db, {BPMN: text}, actor="olwen", now=at("2026-02-01")).version_id
    [preview] = run(db, "migrate", "--to", str(v2), "--preview")
    assert (preview["instance_id"], preview["movable"]) == (review.id, True)
    assert review.view().version_id == 1
    assert run(db, "migrate", "--to", str(v2), "--reason", "timescales", "--as", "olwen")["moved"] == [review.id]
    assert review.view().version_id == v2


def test_a_deploy_from_the_command_line_keeps_its_note(db: Database, tmp_path: Path) -> None:
    checkout = cpr.copy_diagrams(tmp_path / "checkout")
    files = ["--dir", str(checkout / "processes"), "--forms", str(checkout / "forms")]
    run(db, "deploy", *files, "--as", "release", "--note", "  First release of the 2026 process  ")
    [listed] = run(db, "processes")
    assert (listed["deployed_by"], listed["note"]) == ("release", "First release of the 2026 process")


def test_deploying_an_older_versions_files_says_so_and_make_current_switches_new_reviews(
    review_db: Database, tmp_path: Path
) -> None:
    db = review_db
    checkout = cpr.copy_diagrams(tmp_path / "checkout")  # version 1's files
    text = modeling.version_files(db, 1)[BPMN].replace(
        'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'
    )
    v2 = modeling.deploy_edits(db, {BPMN: text}, actor="olwen", now=at("2026-02-01")).version_id

    again = run(db, "deploy", "--dir", str(checkout / "processes"), "--forms", str(checkout / "forms"))
    assert (again["version_id"], again["created"], again["current_version_id"]) == (1, False, v2)
    assert f"new reviews still start on version {v2}" in again["message"]
    assert "cprflow make-current 1" in again["message"]

    made = run(db, "make-current", "1", "--as", "olwen", "--note", "P2W was a mistake")
    assert (made["version_id"], made["current_version_id"]) == (1, 1)
    assert [v["id"] for v in run(db, "processes") if v["current"]] == [1]
    assert Review.start(db.url, "2026-02-02").view().version_id == 1
