"""Welsh names of tasks, lanes and processes come from the diagrams (nameCy), and a deploy lists
what still has no Welsh."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set, welsh
from tests.conftest import ROOT, T0


def shipped() -> diagram_set.DiagramSet:
    return diagram_set.read_directories(ROOT / "processes", ROOT / "forms")


def test_every_user_task_lane_and_process_shipped_has_a_welsh_name() -> None:
    files = shipped().files
    forms = {n.removeprefix("forms/"): json.loads(c) for n, c in files.items() if n.startswith("forms/")}
    assert welsh.missing(files, forms) == []
    names = welsh.read(files)
    assert names.task("record_board_decision", "Record the Board's decision", "cy") == "Cofnodi penderfyniad y Bwrdd"
    assert names.task("record_board_decision", "Record the Board's decision", "en") == "Record the Board's decision"
    assert names.lane("Board Chair", "cy") == "Cadeirydd y Bwrdd"
    assert names.process("single_unified_safeguarding_review", "x", "cy") == "Adolygiad Diogelu Unedig Sengl"


def test_a_deploy_lists_tasks_lanes_and_forms_without_welsh_as_warnings(db: Database, tmp_path: Path) -> None:
    for folder in ("processes", "forms"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    bpmn = tmp_path / "processes" / "child_practice_review.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    for line in (
        '<spiffworkflow:property name="nameCy" value="Cofnodi\'r atgyfeiriad" />',
        '<spiffworkflow:property name="nameCy" value="Cadeirydd y Bwrdd" />',
    ):
        assert line in text
        text = text.replace(line, "", 1)
    bpmn.write_text(text, encoding="utf-8")
    form = tmp_path / "forms" / "close_review.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    first = next(iter(schema["properties"]))
    del schema["properties"][first]["x-title-cy"]
    form.write_text(json.dumps(schema), encoding="utf-8")

    result = services.deploy(
        db, diagram_set.read_directories(tmp_path / "processes", tmp_path / "forms"), actor="owner", now=T0
    )
    assert result.created  # warnings, not a refusal
    assert any("user task 'Record the referral' (record_referral) has no Welsh name" in w for w in result.warnings)
    assert any("lane 'Board Chair'" in w and "child_practice_review.bpmn" in w for w in result.warnings)
    assert any(w.startswith("forms/close_review.schema.json") and f"/{first}" in w for w in result.warnings)
    again = services.deploy(db, shipped(), actor="owner", now=T0 + timedelta(hours=1))
    assert again.created and again.warnings == []
