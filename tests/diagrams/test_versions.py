"""Deploy checks over web edits, the version list, readable diffs, the zip and the export."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from cprflow.core.errors import DeployRefused, InvalidData
from cprflow.db.database import Database
from cprflow.diagrams import versions
from cprflow.services import modeling
from tests.scenarios import cpr
from tests.scenarios.cpr import at

BPMN = "processes/child_practice_review.bpmn"
DMN = "processes/cpr_review_type.dmn"
FORM = "forms/finalise_action_plan.schema.json"


@pytest.fixture
def v1(db: Database) -> dict[str, str]:
    cpr.deploy(db.url)
    return modeling.version_files(db, 1)


def test_check_finds_what_deploy_would_refuse_naming_element_and_line(db: Database, v1: dict[str, str]) -> None:
    broken = v1[BPMN].replace(
        'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = __import__("os")'
    )
    report = modeling.check_edits(db, {BPMN: broken})
    assert not report.ok
    [problem] = report.problems
    assert (problem.file, problem.element) == (BPMN, "set_timescales")
    lines = broken.splitlines()
    script_line = lines.index(next(line for line in lines if "Timescales for this review" in line)) + 1
    assert problem.line == script_line and "__import__" in problem.message
    with pytest.raises(DeployRefused):
        modeling.deploy_edits(db, {BPMN: broken}, actor="owner", now=at("2026-02-01"))
    assert [v["id"] for v in cpr_versions(db)] == [1]


def cpr_versions(db: Database) -> list[dict[str, object]]:
    from cprflow import services

    return services.list_versions(db)


def test_an_unchanged_set_is_the_same_version(db: Database, v1: dict[str, str]) -> None:
    report = modeling.check_edits(db, {BPMN: v1[BPMN]})
    assert (report.ok, report.same_as_version) == (True, 1)
    result = modeling.deploy_edits(db, {BPMN: v1[BPMN]}, actor="owner", now=at("2026-02-01"))
    assert (result.version_id, result.created) == (1, False)


def test_edited_files_must_be_diagrams_forms_or_permissions(db: Database, v1: dict[str, str]) -> None:
    with pytest.raises(InvalidData) as refused:
        modeling.check_edits(db, {"../etc/passwd": "x", "forms/a.bpmn": "<x/>"})
    assert set(refused.value.fields) == {"/files/../etc/passwd", "/files/forms/a.bpmn"}


def test_a_deploy_records_who_and_when_and_the_diff_reads_as_changes(db: Database, v1: dict[str, str]) -> None:
    bpmn = v1[BPMN].replace('action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"')
    dmn = v1[DMN].replace('<text>"concise"</text>', '<text>"extended"</text>', 1)
    form = json.loads(v1[FORM])
    form["properties"]["extra_note"] = {
        "type": "string",
        "title": "Note",
        "description": "d",
        "x-title-cy": "Nodyn",
        "x-description-cy": "d",
    }
    result = modeling.deploy_edits(
        db, {BPMN: bpmn, DMN: dmn, FORM: json.dumps(form, indent=2)}, actor="olwen", now=at("2026-02-01")
    )
    info = modeling.version_info(db, result.version_id)
    assert (info["deployed_by"], info["deployed_at"]) == ("olwen", at("2026-02-01"))

    diffs = {d.file: d for d in modeling.version_diff(db, result.version_id)}
    assert set(diffs) == {BPMN, DMN, FORM}
    [script] = diffs[BPMN].elements_changed
    assert (script["id"], [c["aspect"] for c in script["changes"]]) == ("set_timescales", ["script"])
    assert 'action_plan_period = process_timescales["action_plan"]' in script["changes"][0]["before"]
    assert 'action_plan_period = "P2W"' in script["changes"][0]["after"]
    assert not diffs[BPMN].layout_changed
    [row] = diffs[DMN].elements_changed
    assert (
        row["kind"] == "rule"
        and '"extended"' in row["changes"][0]["after"]
        and '"concise"' in row["changes"][0]["before"]
    )
    [added] = diffs[FORM].elements_added
    assert (added["id"], added["kind"], added["name"]) == ("extra_note", "field", "Note")
    assert '"x-title-cy": "Nodyn"' in added["content"]  # the field as it is, for the page to show
    # Against any version: back to the first, the same changes the other way round.
    back = {d.file: d for d in modeling.version_diff(db, 1, against=result.version_id)}
    assert [e["id"] for e in back[FORM].elements_removed] == ["extra_note"]


def test_timer_changes_and_added_or_removed_elements_are_named() -> None:
    def diagram(timer: str, extra: str = "") -> str:
        return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>
<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition id="t"><bpmn:timeDate>{timer}</bpmn:timeDate>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>{extra}</bpmn:process></bpmn:definitions>"""

    [found] = versions.diff(
        {"processes/p.bpmn": diagram("timer_at(a)")},
        {"processes/p.bpmn": diagram("timer_at(b)", '<bpmn:endEvent id="e" name="Done"/>')},
    )
    assert found.elements_changed == [
        {
            "id": "wait",
            "kind": "intermediateCatchEvent",
            "name": "Wait",
            "changes": [{"aspect": "timer", "before": "timer_at(a)", "after": "timer_at(b)"}],
        }
    ]
    assert found.elements_added == [{"id": "e", "kind": "endEvent", "name": "Done"}]


def test_zip_and_export_give_back_the_version(db: Database, v1: dict[str, str], tmp_path: Path) -> None:
    archive = zipfile.ZipFile(io.BytesIO(versions.zip_bytes(v1)))
    assert sorted(archive.namelist()) == sorted(v1)
    assert archive.read(BPMN).decode() == v1[BPMN]

    target = cpr.copy_diagrams(tmp_path / "checkout")
    (target / "forms" / "stale.schema.json").write_text("{}")
    (target / "processes" / BPMN.split("/")[1]).write_text("edited by hand")
    touched = versions.export(v1, target)
    assert touched == sorted([BPMN, "forms/stale.schema.json"])
    assert (target / BPMN).read_text() == v1[BPMN]
    assert not (target / "forms" / "stale.schema.json").exists()
    assert (target / "processes" / "README.md").exists()  # not a managed file: left alone
    assert versions.export(v1, target) == []  # already the version
