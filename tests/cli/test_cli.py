"""The sample case driven through the real ``cprflow`` command, with the clock travelled, not read."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result

from cprflow.cli import main
from tests.conftest import SAMPLE, T0

CASE = {
    "child_name": "Sam",
    "referral_date": "2026-03-02",
    "risk_score": 9,
    "child_under_five": False,
    "agencies": ["police", "health"],
}
REPORT = {"agency_report": {"recommendation": "support", "summary": "known to us"}}
CLOSURE = {"closed_on": "2026-03-20", "outcome": "closed"}
VISIT = {"visit_date": "2026-06-18", "child_doing_well": True}


class Cli:
    """Runs ``cprflow`` against one SQLite file, as a shell would: a new process state each call."""

    def __init__(self, database: Path) -> None:
        self.runner = CliRunner()
        self.env = {"CPRFLOW_DATABASE_URL": f"sqlite:///{database}"}

    def run(self, *args: str) -> Result:
        return self.runner.invoke(main, list(args), env=self.env)

    def ok(self, *args: str) -> Any:
        """Run with --json and return the parsed output; the command must succeed quietly."""
        result = self.run("--json", *args)
        assert result.exit_code == 0, f"{args}: {result.stderr or result.output}"
        assert result.stderr == ""
        return json.loads(result.stdout)

    def fails(self, *args: str) -> list[str]:
        """Run a command that must fail; returns its stderr lines."""
        result = self.run(*args)
        assert result.exit_code != 0, f"{args} should have failed: {result.stdout}"
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines, "a failure must say why on stderr"
        assert all(line.startswith("error: ") for line in lines), lines
        return lines


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cli(tmp_path: Path, clock: time_machine.Coordinates) -> Cli:
    runner = Cli(tmp_path / "cprflow.db")
    result = runner.run("init")
    assert result.exit_code == 0, result.output
    return runner


@pytest.fixture
def deployed_cli(cli: Cli) -> Cli:
    cli.ok("deploy", "--dir", str(SAMPLE / "processes"), "--forms", str(SAMPLE / "forms"))
    return cli


def test_sample_case_runs_start_to_finish_from_the_command_line(cli: Cli, clock: time_machine.Coordinates) -> None:
    deployed = cli.ok("deploy", "--dir", str(SAMPLE / "processes"), "--forms", str(SAMPLE / "forms"), "--as", "owner")
    assert deployed["created"] is True
    assert cli.ok("deploy", "--dir", str(SAMPLE / "processes"), "--forms", str(SAMPLE / "forms"))["created"] is False
    versions = cli.ok("processes")
    assert [v["id"] for v in versions] == [deployed["version_id"]]
    assert [p["id"] for p in versions[0]["processes"]] == ["sample_case", "sample_followup"]
    assert versions[0]["deployed_by"] == "owner"

    started = cli.ok("start", "sample_case")
    instance = str(started["id"])
    assert started["status"] == "running"
    assert started["created_at"] == T0.isoformat()
    (record,) = cli.ok("tasks")
    assert record["bpmn_id"] == "record_case"
    assert record["due_at"] == "2026-03-04T00:00:00+00:00"

    clock.move_to(T0 + timedelta(hours=1))
    after_record = cli.ok("complete", record["id"], "--data", json.dumps(CASE), "--as", "intake")
    assert after_record["data"]["priority"] == "urgent"
    assert after_record["next_timer_at"] == (T0 + timedelta(hours=1, days=1)).isoformat()
    reviews = cli.ok("tasks", "--lane", "Agencies")
    assert sorted(t["assignee"] for t in reviews) == ["health", "police"]
    (approval,) = cli.ok("tasks", "--lane", "Manager")
    assert approval["due_at"] == "2026-03-05T00:00:00+00:00"

    clock.move_to(T0 + timedelta(hours=2))
    for task in reviews:
        cli.ok("complete", task["id"], "--data", json.dumps(REPORT), "--as", task["assignee"])
    waiting = cli.ok("complete", approval["id"], "--data", '{"manager_decision": "approved"}', "--as", "manager")
    assert waiting["status"] == "waiting"
    assert waiting["next_timer_at"] == (T0 + timedelta(hours=3)).isoformat()
    assert cli.ok("tasks") == []

    assert cli.ok("timers", "run", "--at", (T0 + timedelta(hours=2, minutes=30)).isoformat())["fired"] == []
    assert cli.ok("timers", "run", "--at", "2026-03-02T12:05:00")["fired"] == [started["id"]]  # naive means UTC
    shown = cli.ok("show", instance)
    assert shown["waiting_for"] == ["case_closed"]

    clock.move_to(T0 + timedelta(days=18))
    closed = cli.ok("send", instance, "case_closed", "--data", json.dumps(CLOSURE))
    (visit,) = closed["open_tasks"]
    assert visit["bpmn_id"] == "followup_visit"
    assert visit["due_at"] == "2026-06-20T00:00:00+00:00"

    clock.move_to(T0 + timedelta(days=108))
    finished = cli.ok("complete", visit["id"], "--data", json.dumps(VISIT), "--as", "visitor")
    assert finished["status"] == "completed"

    trace = cli.ok("show", instance, "--events")
    assert trace["instance"]["status"] == "completed"
    assert len(trace["instance"]["data"]["agency_reports"]) == 2
    assert [e["kind"] for e in trace["events"]] == [
        "started",
        "task_completed",
        "task_completed",
        "task_completed",
        "task_completed",
        "timer_fired",
        "message_received",
        "task_completed",
    ]
    assert trace["events"][0]["at"] == T0.isoformat()
    assert trace["events"][-1]["actor"] == "visitor"
    listed = cli.ok("instances")
    assert listed["total"] == 1
    assert [(i["id"], i["status"]) for i in listed["instances"]] == [(started["id"], "completed")]


def test_plain_output_is_readable_lines(deployed_cli: Cli) -> None:
    result = deployed_cli.run("start", "sample_case")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "instance 1  sample_case (version 1)  running"
    assert "Record the case due 2026-03-04" in result.stdout


def test_bad_json_data_is_one_error_line(deployed_cli: Cli) -> None:
    (task,) = deployed_cli.ok("start", "sample_case")["open_tasks"]

    lines = deployed_cli.fails("complete", task["id"], "--data", "{not json", "--as", "intake")

    assert len(lines) == 1
    assert "JSON" in lines[0]
    assert deployed_cli.ok("show", "1", "--events")["events"][-1]["kind"] == "started"


def test_unknown_task_is_one_error_line(deployed_cli: Cli) -> None:
    lines = deployed_cli.fails("complete", "00000000-0000-0000-0000-000000000000", "--data", "{}", "--as", "intake")

    assert lines == ["error: task 00000000-0000-0000-0000-000000000000 not found"]


def test_invalid_form_data_names_each_field(deployed_cli: Cli) -> None:
    (task,) = deployed_cli.ok("start", "sample_case")["open_tasks"]

    bad = json.dumps({**CASE, "risk_score": "high"})

    lines = deployed_cli.fails("complete", task["id"], "--data", bad, "--as", "x")

    assert lines[0].startswith("error: ")
    assert any(line.startswith("error: /risk_score: ") for line in lines[1:])
    assert deployed_cli.ok("tasks")[0]["id"] == task["id"]


def test_deploying_a_broken_set_prints_file_and_element_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE, broken)
    diagram = broken / "processes" / "sample_case.bpmn"
    diagram.write_text(
        diagram.read_text(encoding="utf-8").replace(
            'value="manager_approval.schema.json"', 'value="missing.schema.json"'
        ),
        encoding="utf-8",
    )

    lines = cli.fails("deploy", "--dir", str(broken / "processes"), "--forms", str(broken / "forms"))

    assert len(lines) == 1
    assert "processes/sample_case.bpmn" in lines[0]
    assert "[manager_approval]" in lines[0]
    assert "missing.schema.json" in lines[0]
    assert cli.ok("processes") == []


def test_deploying_a_missing_folder_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    lines = cli.fails("deploy", "--dir", str(tmp_path / "nowhere"), "--forms", str(SAMPLE / "forms"))

    assert len(lines) == 1
    assert "nowhere" in lines[0]


def test_status_commands_need_and_record_a_reason(deployed_cli: Cli) -> None:
    started = deployed_cli.ok("start", "sample_case")

    suspended = deployed_cli.ok("suspend", str(started["id"]), "--reason", "court order", "--as", "admin")

    assert suspended["status"] == "suspended"
    assert deployed_cli.fails("resume", str(started["id"]), "--reason", " ") == [
        "error: a reason is required",
        "error: /reason: is required",
    ]
    event = deployed_cli.ok("show", str(started["id"]), "--events")["events"][-1]
    assert (event["kind"], event["actor"], event["detail"]["reason"]) == ("status_changed", "admin", "court order")
