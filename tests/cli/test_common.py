"""What every command shares: reading --at and JSON arguments, printing results as lines or JSON,
and a domain error as 'error:' lines with exit status 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner

from cprflow.cli import common
from cprflow.core.errors import DeployRefused, InvalidData, NotFound, Problem
from cprflow.core.views import InstanceView, TaskView
from tests.conftest import T0

TASK = TaskView(
    "t-1", 7, "sample_case", "agency_review", "Agency review", "Agencies", None, None, None, T0, "police", T0
)


def test_at_reads_a_date_or_time_as_utc_unless_it_says_otherwise() -> None:
    assert common.at_time("2026-03-02") == datetime(2026, 3, 2, tzinfo=UTC)
    assert common.at_time("2026-03-02T09:30") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert common.at_time("2026-07-01T10:00+01:00").utcoffset() == timedelta(hours=1)
    assert common.at_time(None).tzinfo is UTC
    with pytest.raises(InvalidData, match="--at is not an ISO date or datetime: 'tomorrow'"):
        common.at_time("tomorrow")


def test_json_arguments_must_be_objects() -> None:
    assert common.json_arg('{"child_name": "Siân", "agencies": []}', "--data") == {"child_name": "Siân", "agencies": []}
    with pytest.raises(InvalidData, match="--data is not valid JSON"):
        common.json_arg("{child_name: 'Sam'}", "--data")
    for text in ("[]", '"text"', "3", "null"):
        with pytest.raises(InvalidData, match="--data must be a JSON object"):
            common.json_arg(text, "--data")


def test_results_become_plain_json_values() -> None:
    value = common.plain({"task": TASK, "when": (T0.astimezone(timezone(timedelta(hours=1))),)})
    assert value["task"]["due_at"] == "2026-03-02T09:00:00+00:00"
    assert value["when"] == ["2026-03-02T10:00:00+01:00"]


def test_lines_say_where_a_case_stands() -> None:
    assert common.task_line(TASK) == "t-1  #7  [Agencies]  Agency review due 2026-03-02 for police"
    view = InstanceView(7, "sample_case", 1, "error", {}, T0, ["case_closed"], "boom", T0, T0, [TASK])
    assert common.instance_lines(view) == [
        "instance 7  sample_case (version 1)  error",
        "  error: boom",
        "  next timer: 2026-03-02T09:00:00+00:00",
        "  waiting for: case_closed",
        "  task t-1  #7  [Agencies]  Agency review due 2026-03-02 for police",
    ]


@click.command()
@click.argument("kind")
@common.handles_errors
def failing(kind: str) -> None:
    if kind == "fields":
        raise InvalidData("not valid", fields={"/a": ["is required", "too short"], "/b": ["bad"]})
    if kind == "deploy":
        raise DeployRefused([Problem("processes/a.bpmn", "broken", "Task_1", 3)])
    raise NotFound("instance 9 not found")


@pytest.mark.parametrize(
    ("kind", "lines"),
    [
        ("fields", ["error: not valid", "error: /a: is required; too short", "error: /b: bad"]),
        ("deploy", ["error: processes/a.bpmn:3 [Task_1]: broken"]),
        ("other", ["error: instance 9 not found"]),
    ],
)
def test_a_domain_error_is_error_lines_and_status_1(kind: str, lines: list[str]) -> None:
    result = CliRunner().invoke(failing, [kind])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == lines and result.stdout == ""
