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


def test_working_days_skip_weekends_and_wales_bank_holidays() -> None:
    from cprflow.core.expressions import add_working_days, evaluate, working_days_between

    assert add_working_days("2026-04-02", 1) == "2026-04-07"  # Good Friday, the weekend, Easter Monday
    assert add_working_days("2026-12-24", 2) == "2026-12-30"  # Christmas, Boxing Day (observed on the 28th)
    assert add_working_days("2026-04-07", -1) == "2026-04-02"
    assert working_days_between("2026-04-02", "2026-04-07") == 1
    assert working_days_between("2026-04-07", "2026-04-02") == -1
    assert evaluate("add_working_days(d, 5)", {"d": "2026-05-01"}) == "2026-05-11"  # 4 May is May Day
