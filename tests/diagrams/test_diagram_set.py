"""Deploying diagram sets: versions, no-op redeploys, and refusals that point at the problem."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from cprflow import services
from cprflow.core.errors import DeployRefused, NotFound, Problem
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.diagrams import diagram_set
from cprflow.services import deployments
from tests.conftest import SAMPLE, T0, sample_diagrams
from tests.scenarios import cpr

BPMN = "processes/sample_case.bpmn"
DMN = "processes/triage.dmn"
REMINDER_SCRIPT = "<bpmn:script>reminded = True</bpmn:script>"
CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health"],
}


# ---------------------------------------------------------------------------------------------
# Helpers: a copy of the sample set with one text edit, and a deploy that must be refused.


def edited_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    root = tmp_path / "set"
    if not root.exists():
        shutil.copytree(SAMPLE, root)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


def read_set(root: Path) -> diagram_set.DiagramSet:
    return diagram_set.read_directories(root / "processes", root / "forms")


def line_of(root: Path, file: str, needle: str) -> int:
    for number, line in enumerate((root / file).read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {file}")


def deployed_events(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.kind == "deployed")) or 0


def refused(db: Database, diagrams: diagram_set.DiagramSet) -> list[Problem]:
    """Deploy must refuse, store nothing and record nothing."""
    versions, events = len(services.list_versions(db)), deployed_events(db)
    with pytest.raises(DeployRefused) as caught:
        services.deploy(db, diagrams, actor="owner", now=T0 + timedelta(hours=1))
    assert caught.value.problems, "a refusal must list its problems"
    assert len(services.list_versions(db)) == versions
    assert deployed_events(db) == events
    return caught.value.problems


def problem_at(problems: list[Problem], file: str, element: str) -> Problem:
    found = [p for p in problems if p.file == file and p.element == element]
    assert found, f"no problem naming {file} [{element}] in {[str(p) for p in problems]}"
    return found[0]


# ---------------------------------------------------------------------------------------------
# Deploying and versioning


def test_sample_set_deploys_as_first_version_listing_both_processes(db: Database) -> None:
    result = services.deploy(db, sample_diagrams(), actor="owner", now=T0)

    assert result.created is True
    assert [p["id"] for p in result.processes] == ["sample_case", "sample_followup"]
    assert {p["id"]: p["file"] for p in result.processes} == {
        "sample_case": "processes/sample_case.bpmn",
        "sample_followup": "processes/sample_followup.bpmn",
    }
    fresh = Database(db.url)
    try:
        versions = services.list_versions(fresh)
    finally:
        fresh.dispose()
    assert [v["id"] for v in versions] == [result.version_id]
    assert versions[0]["deployed_by"] == "owner"
    assert versions[0]["deployed_at"] == T0
    assert deployed_events(db) == 1


def test_redeploying_unchanged_files_is_a_no_op_returning_the_same_version(deployed: Database) -> None:
    first = services.list_versions(deployed)[0]

    again = services.deploy(deployed, sample_diagrams(), actor="someone else", now=T0 + timedelta(days=1))

    assert again.created is False
    assert again.version_id == first["id"]
    assert again.content_hash == first["content_hash"]
    assert len(services.list_versions(deployed)) == 1
    assert deployed_events(deployed) == 1


def test_changed_set_is_a_new_version_and_running_instances_keep_their_own(deployed: Database, tmp_path: Path) -> None:
    before = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0)
    # Version 2 sends high-risk cases down the "low" path instead of to a review.
    changed = edited_copy(
        tmp_path,
        DMN,
        '<outputEntry id="triage_rule_1_priority"><text>"urgent"</text>',
        '<outputEntry id="triage_rule_1_priority"><text>"low"</text>',
    )
    result = services.deploy(deployed, read_set(changed), actor="owner", now=T0 + timedelta(hours=1))
    assert result.created is True
    assert result.version_id != before.version_id
    assert len(services.list_versions(deployed)) == 2
    assert deployed_events(deployed) == 2

    fresh = Database(deployed.url)
    try:
        after = services.start_instance(fresh, "sample_case", {}, actor="intake", now=T0 + timedelta(hours=2))
        assert after.version_id == result.version_id

        # Both record the same high-risk case once version 2 exists.
        old = services.complete_task(fresh, before.open_tasks[0].id, CASE, actor="intake", now=T0 + timedelta(hours=3))
        new = services.complete_task(fresh, after.open_tasks[0].id, CASE, actor="intake", now=T0 + timedelta(hours=3))
    finally:
        fresh.dispose()

    assert old.version_id == before.version_id
    assert old.data["priority"] == "urgent"
    assert sorted(t.bpmn_id for t in old.open_tasks) == ["agency_review", "agency_review", "manager_approval"]
    assert new.data["priority"] == "low"
    assert [t.bpmn_id for t in new.open_tasks] == ["record_advice"]
    assert services.get_instance(deployed, before.id).version_id == before.version_id


def test_deploying_an_older_versions_files_again_says_new_reviews_stay_on_the_current_version(
    deployed: Database, tmp_path: Path
) -> None:
    changed = edited_copy(tmp_path, DMN, '<text>"urgent"</text>', '<text>"low"</text>')
    v2 = services.deploy(deployed, read_set(changed), actor="owner", now=T0 + timedelta(hours=1)).version_id

    again = services.deploy(deployed, sample_diagrams(), actor="owner", now=T0 + timedelta(hours=2))

    assert (again.version_id, again.created, again.current, again.current_version_id) == (1, False, False, v2)
    assert f"new reviews still start on version {v2}" in again.message
    assert services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0).version_id == v2
    assert deployed_events(deployed) == 2


def test_making_an_older_version_current_is_recorded_and_new_reviews_start_on_it(
    deployed: Database, tmp_path: Path
) -> None:
    changed = edited_copy(tmp_path, DMN, '<text>"urgent"</text>', '<text>"low"</text>')
    v2 = services.deploy(deployed, read_set(changed), actor="owner", now=T0 + timedelta(hours=1)).version_id
    running = services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0 + timedelta(hours=2))

    made = deployments.make_current(deployed, 1, actor="olwen", now=T0 + timedelta(hours=3), note="v2 was wrong")

    assert (made.version_id, made.current) == (1, True)
    assert [(v["id"], v["current"]) for v in services.list_versions(deployed)] == [(v2, False), (1, True)]
    assert services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0).version_id == 1
    assert services.get_instance(deployed, running.id).version_id == v2  # running reviews stay where they are
    with deployed.transaction(write=False) as session:
        event = session.scalars(select(Event).where(Event.kind == "version_made_current")).one()
        assert (event.actor, event.detail) == ("olwen", {"version_id": 1, "previous": v2, "note": "v2 was wrong"})
    # A later deploy is current again.
    v3 = services.deploy(deployed, read_set(edited_copy(tmp_path, DMN, '"low"', '"medium"')), actor="owner", now=T0)
    assert services.start_instance(deployed, "sample_case", {}, actor="intake", now=T0).version_id == v3.version_id


def test_making_the_current_version_current_changes_nothing_and_an_unknown_one_is_not_found(
    deployed: Database,
) -> None:
    again = deployments.make_current(deployed, 1, actor="olwen", now=T0)

    assert (again.version_id, again.current) == (1, True)
    assert "already start on" in again.message
    with pytest.raises(NotFound):
        deployments.make_current(deployed, 99, actor="olwen", now=T0)
    with deployed.transaction(write=False) as session:
        assert session.scalars(select(Event).where(Event.kind == "version_made_current")).all() == []


# ---------------------------------------------------------------------------------------------
# Refusals: each names the file and element (and line where known), and stores nothing.


def test_user_task_naming_a_missing_form_is_refused(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, BPMN, 'value="manager_approval.schema.json"', 'value="no_such_form.schema.json"')

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "manager_approval")

    assert "no_such_form.schema.json" in problem.message
    assert problem.line == line_of(root, BPMN, '<bpmn:userTask id="manager_approval"')


def test_form_that_is_not_valid_json_schema_2020_12_is_refused(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, "forms/escalate.schema.json", '"type": "object"', '"type": "objekt"')

    problems = refused(deployed, read_set(root))

    assert [p.file for p in problems] == ["forms/escalate.schema.json"]
    assert "/type" in problems[0].message


def test_form_that_is_not_json_is_refused(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, "forms/escalate.schema.json", '"type": "object",', '"type": "object"')

    problems = refused(deployed, read_set(root))

    assert [p.file for p in problems] == ["forms/escalate.schema.json"]
    assert "not valid JSON" in problems[0].message


@pytest.mark.parametrize("pattern", ["^(a|aa)+$", "(z|z)+y", "^(\\\\w+\\\\s?)+$"])
def test_form_pattern_that_backtracks_is_refused(deployed: Database, tmp_path: Path, pattern: str) -> None:
    root = edited_copy(
        tmp_path, "forms/escalate.schema.json", '"minLength": 1', f'"minLength": 1, "pattern": "{pattern}"'
    )

    problems = refused(deployed, read_set(root))

    assert [p.file for p in problems] == ["forms/escalate.schema.json"]
    assert problems[0].message.startswith("/properties/escalation_reason/pattern: ")
    assert "backtracks catastrophically" in problems[0].message


def test_form_pattern_that_is_sound_deploys(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path, "forms/escalate.schema.json", '"minLength": 1', '"minLength": 1, "pattern": "^[A-Z][a-z]+( [a-z]+)*$"'
    )

    assert services.deploy(deployed, read_set(root), actor="owner", now=T0).created


def test_script_syntax_error_is_refused_with_the_line_inside_the_file(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, BPMN, REMINDER_SCRIPT, "<bpmn:script>reminded = True\nnote = (1 +</bpmn:script>")

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "send_reminder")

    assert "syntax error" in problem.message
    assert problem.line == line_of(root, BPMN, "note = (1 +")


def test_condition_syntax_error_is_refused_naming_the_sequence_flow(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, BPMN, 'priority == "low"', 'priority === "low"')

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "flow_advice")

    assert "syntax error" in problem.message
    assert problem.line == line_of(root, BPMN, 'priority === "low"')


@pytest.mark.parametrize(
    ("script", "mentions"),
    [
        ("__import__('os')", "__import__"),
        ("import os", "import"),
        ("open('/etc/passwd')", "open"),
        ("().__class__.__base__.__subclasses__()", "__class__"),
        ("while True: pass", "endless loop"),
    ],
    ids=["dunder-import", "import", "open", "subclasses-escape", "endless-loop"],
)
def test_hostile_script_is_refused_at_deploy(deployed: Database, tmp_path: Path, script: str, mentions: str) -> None:
    root = edited_copy(tmp_path, BPMN, REMINDER_SCRIPT, f"<bpmn:script>{script}</bpmn:script>")

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "send_reminder")

    assert mentions in problem.message
    assert problem.line == line_of(root, BPMN, script)


@pytest.mark.parametrize("cardinality", ["3000", "30 * 100"])
def test_multi_instance_with_too_many_instances_written_in_is_refused(
    deployed: Database, tmp_path: Path, cardinality: str
) -> None:
    loop = f"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    root = edited_copy(tmp_path, BPMN, REMINDER_SCRIPT, loop + REMINDER_SCRIPT)

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "send_reminder")

    assert "at most 200 instances, not 3,000" in problem.message
    assert problem.line == line_of(root, BPMN, cardinality)


def test_multi_instance_within_the_bound_deploys(deployed: Database, tmp_path: Path) -> None:
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    root = edited_copy(tmp_path, BPMN, REMINDER_SCRIPT, loop + REMINDER_SCRIPT)

    assert services.deploy(deployed, read_set(root), actor="owner", now=T0).created


def test_hostile_condition_is_refused_at_deploy(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(tmp_path, BPMN, 'priority == "low"', "__import__('os').system('id') == 0")

    problem = problem_at(refused(deployed, read_set(root)), BPMN, "flow_advice")

    assert "__import__" in problem.message


def test_hostile_decision_output_is_refused_at_deploy(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path,
        DMN,
        '<outputEntry id="triage_rule_4_priority"><text>"low"</text>',
        "<outputEntry id=\"triage_rule_4_priority\"><text>open('/etc/passwd').read()</text>",
    )

    problem = problem_at(refused(deployed, read_set(root)), DMN, "triage_rule_4_priority")

    assert "open" in problem.message


XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
XXE = XML_DECLARATION + '<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
BILLION_LAUGHS = XML_DECLARATION + (
    '<!DOCTYPE definitions [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>\n'
)


@pytest.mark.parametrize(
    ("file", "header", "use"),
    [
        (BPMN, XXE, ("Record the case", "&xxe;")),
        (DMN, XXE, ("Triage", "&xxe;")),
        (BPMN, BILLION_LAUGHS, ("Record the case", "&lol9;")),
    ],
    ids=["xxe-bpmn", "xxe-dmn", "billion-laughs"],
)
def test_entity_declarations_are_refused(
    deployed: Database, tmp_path: Path, file: str, header: str, use: tuple[str, str]
) -> None:
    root = edited_copy(tmp_path, file, XML_DECLARATION, header)
    root = edited_copy(tmp_path, file, f'name="{use[0]}"', f'name="{use[1]}"')

    problems = refused(deployed, read_set(root))

    assert [p.file for p in problems] == [file]
    assert "DOCTYPE" in problems[0].message
    assert "root:" not in " ".join(p.message for p in problems)


@pytest.mark.parametrize(
    ("old", "new", "second_rule"),
    [
        # rule 4 becomes a copy of rule 3: the same literal cells
        (
            '<inputEntry id="triage_rule_4_score"><text>&lt; 4</text>',
            '<inputEntry id="triage_rule_4_score"><text>4 &lt;= ? &lt; 8</text>',
            "triage_rule_4",
        ),
        # rule 2 matches any score, so it overlaps rule 1 for a child under five
        (
            '<inputEntry id="triage_rule_2_score"><text>&lt; 8</text>',
            '<inputEntry id="triage_rule_2_score"><text>-</text>',
            "triage_rule_2",
        ),
    ],
    ids=["same-literals", "dash-overlaps"],
)
def test_unique_decision_table_with_overlapping_rules_is_refused(
    deployed: Database, tmp_path: Path, old: str, new: str, second_rule: str
) -> None:
    root = edited_copy(tmp_path, DMN, old, new)

    problem = problem_at(refused(deployed, read_set(root)), DMN, second_rule)  # marked on the second row

    assert second_rule in problem.message
    assert "UNIQUE" in problem.message
    assert problem.line == line_of(root, DMN, f'<rule id="{second_rule}">')


def _decision_table(rules: str) -> Any:
    return etree.fromstring(
        (
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"><decision id="route">'
            '<decisionTable id="t"><input id="in_a"><inputExpression id="ea"><text>a</text></inputExpression></input>'
            '<input id="in_b"><inputExpression id="eb"><text>b</text></inputExpression></input>'
            f'<output id="out" name="o"/>{rules}</decisionTable></decision></definitions>'
        ).encode()
    )


def _rule(rule_id: str, a: str, b: str) -> str:
    return (
        f'<rule id="{rule_id}"><inputEntry id="{rule_id}_a"><text>{a}</text></inputEntry>'
        f'<inputEntry id="{rule_id}_b"><text>{b}</text></inputEntry>'
        f'<outputEntry id="{rule_id}_o"><text>"x"</text></outputEntry></rule>'
    )


def test_a_thousand_rule_decision_table_reports_its_one_overlap() -> None:
    rules = "".join(_rule(f"r{n}", f'"{n}"', "-") for n in range(1000)) + _rule("late", '"500"', '"only"')

    problems = diagram_set._check_decision_tables("routes.dmn", _decision_table(rules))

    assert [(p.element, p.message) for p in problems] == [
        ("late", "rules 'r500' and 'late' can both match, but the hit policy is UNIQUE")
    ]


def test_a_decision_table_overlapping_everywhere_reports_the_first_overlaps_only() -> None:
    rules = "".join(_rule(f"r{n}", "-", "in [1, 2]" if n % 2 else "-") for n in range(1000))

    problems = diagram_set._check_decision_tables("routes.dmn", _decision_table(rules))

    assert len(problems) == diagram_set.MAX_OVERLAPS
    assert problems[0].message == "rules 'r0' and 'r1' can both match, but the hit policy is UNIQUE"


def test_decision_cell_using_not_is_refused(deployed: Database, tmp_path: Path) -> None:
    root = edited_copy(
        tmp_path,
        DMN,
        '<inputEntry id="triage_rule_3_under_five"><text>False</text>',
        '<inputEntry id="triage_rule_3_under_five"><text>not("x")</text>',
    )

    problem = problem_at(refused(deployed, read_set(root)), DMN, "triage_rule_3_under_five")

    assert "not(" in problem.message
    assert problem.line == line_of(root, DMN, 'not("x")')


def test_call_activity_to_a_missing_process_is_refused_naming_the_call_activity(
    deployed: Database, tmp_path: Path
) -> None:
    root = edited_copy(tmp_path, BPMN, 'calledElement="sample_followup"', 'calledElement="no_such_process"')

    problems = refused(deployed, read_set(root))

    problem = problem_at(problems, BPMN, "followup")
    assert "no_such_process" in problem.message
    assert problem.line == line_of(root, BPMN, 'calledElement="no_such_process"')


def test_form_rules_that_do_not_compile_and_message_schemas_not_found_are_refused(tmp_path: Path) -> None:
    root = cpr.copy_diagrams(tmp_path)
    rules = root / "forms" / "hold_ended.message.json"
    rules.write_text(rules.read_text().replace("hold_id in [h['hold_id']", "hold_id in [h['hold_id'"))
    bpmn = root / "processes" / "child_practice_review.bpmn"
    bpmn.write_text(bpmn.read_text().replace('value="hold_started.message.json"', 'value="hold_begun.message.json"'))
    with pytest.raises(DeployRefused) as caught:
        diagram_set.check(read_set(root))
    found = [(p.file, p.message) for p in caught.value.problems]
    assert any(f == "forms/hold_ended.message.json" and m.startswith("x-rules/0/rule:") for f, m in found), found
    assert (
        "processes/child_practice_review.bpmn",
        "message schema 'hold_begun.message.json' not found in forms/",
    ) in found


def test_a_date_may_open_as_today_and_as_nothing_else(tmp_path: Path) -> None:
    root = cpr.copy_diagrams(tmp_path)
    form = root / "forms" / "close_review.schema.json"
    form.write_text(form.read_text().replace('"x-default": "today"', '"x-default": "yesterday"'))
    timeline = root / "forms" / "merge_summary_timeline.schema.json"
    text = timeline.read_text()
    merged = text.index('"timeline_merged_date"')  # no longer a date field, yet opening as today
    timeline.write_text(text[:merged] + text[merged:].replace('"format": "date",', '"maxLength": 10,', 1))
    with pytest.raises(DeployRefused) as caught:
        diagram_set.check(read_set(root))
    found = {p.file: p.message for p in caught.value.problems}
    assert found["forms/close_review.schema.json"].startswith("/properties/closure_date: x-default may only be")
    assert found["forms/merge_summary_timeline.schema.json"].startswith("/properties/timeline_merged_date: x-default")


def test_a_start_form_the_forms_do_not_hold_is_refused_naming_the_process(tmp_path: Path) -> None:
    root = cpr.copy_diagrams(tmp_path)
    (root / "forms" / "start_child_practice_review.schema.json").unlink()
    bpmn = root / "processes" / "child_practice_review.bpmn"
    bpmn.write_text(
        bpmn.read_text().replace(
            'value="start_child_practice_review.uischema.json"', 'value="start_review.uischema.json"'
        )
    )
    with pytest.raises(DeployRefused) as caught:
        diagram_set.check(read_set(root))
    found = [(p.file, p.element, p.message) for p in caught.value.problems]
    where = ("processes/child_practice_review.bpmn", "child_practice_review")
    assert (*where, "start form 'start_child_practice_review.schema.json' not found in forms/") in found, found
    assert (*where, "UI schema 'start_review.uischema.json' not found in forms/") in found, found


def test_the_review_declares_its_start_form_on_its_start_event(tmp_path: Path) -> None:
    root = cpr.copy_diagrams(tmp_path)
    trees = {
        "processes/child_practice_review.bpmn": etree.parse(
            str(root / "processes/child_practice_review.bpmn")
        ).getroot()
    }
    form = diagram_set.start_forms(trees)["child_practice_review"]
    assert (form.schema, form.ui_schema) == (
        "start_child_practice_review.schema.json",
        "start_child_practice_review.uischema.json",
    )


def test_facts_a_task_shows_must_name_a_form_and_fields_it_asks(db: Database, tmp_path: Path) -> None:
    from tests.conftest import ROOT

    for folder in ("processes", "forms"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    ui = tmp_path / "forms" / "record_board_decision.uischema.json"
    text = ui.read_text(encoding="utf-8")
    assert '"referral_summary"' in text and '"form": "screen_referral.schema.json"' in text
    text = text.replace('"referral_summary"', '"referal_summary"').replace(
        '"form": "screen_referral.schema.json"', '"form": "screening.schema.json"'
    )
    ui.write_text(text, encoding="utf-8")
    messages = [str(p) for p in refused(db, read_set(tmp_path))]
    assert any("'referal_summary' is not a field of record_referral.schema.json" in m for m in messages), messages
    assert any("form 'screening.schema.json' not found" in m for m in messages), messages
