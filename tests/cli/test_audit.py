"""The audit commands from a shell: data fixes with reasons, and verify's exit status."""

from __future__ import annotations

from tests.cli.test_cli import CASE, Cli, cli, clock, deployed_cli  # noqa: F401 - the fixtures


def test_fix_data_sets_checked_keys_and_records_the_reason(deployed_cli: Cli) -> None:  # noqa: F811
    started = deployed_cli.ok("start", "sample_case", "--data", "{}")
    task = started["open_tasks"][0]["id"]
    deployed_cli.ok("complete", task, "--data", __import__("json").dumps(CASE), "--as", "bu")
    fixed = deployed_cli.ok(
        "fix-data", str(started["id"]), "--set", 'child_name="Alex"', "--reason", "Misspelt", "--as", "admin"
    )
    assert fixed["data"]["child_name"] == "Alex"
    events = deployed_cli.ok("show", str(started["id"]), "--events")["events"]
    assert events[-1]["kind"] == "data_fixed" and events[-1]["detail"]["reason"] == "Misspelt"
    assert events[-1]["detail"]["changes"] == {"child_name": {"before": "Sam", "after": "Alex"}}
    assert deployed_cli.fails("fix-data", str(started["id"]), "--set", "child_name=7", "--reason", "x") == [
        "error: the data fix is not valid; nothing was changed",
        "error: /values/child_name: 7 is not of type 'string'",
    ]
    assert deployed_cli.fails("fix-data", str(started["id"]), "--set", 'child_name="A"', "--reason", " ") == [
        "error: a reason is required",
        "error: /reason: is required",
    ]
    assert "Missing option '--reason'" in deployed_cli.run("fix-data", str(started["id"]), "--set", 'x="1"').output
    assert deployed_cli.ok("audit", "verify")["ok"] is True
