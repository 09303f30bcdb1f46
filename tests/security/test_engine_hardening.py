"""Diagram code that tries to end the process, and readiness when timers have stopped firing."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.core import forms
from cprflow.core.errors import InvalidData
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import timers
from tests.conftest import ROOT, T0

FAILING = ROOT / "tests" / "fixtures" / "failing"


def deploy_failing(db: Database, tmp_path: Path) -> None:
    """The failing fixture, with the business unit allowed to start and work it."""
    processes = tmp_path / "processes"
    shutil.copytree(FAILING / "processes", processes)
    (processes / "permissions.json").write_text(
        json.dumps(
            {
                "lanes": {"": ["business_unit"]},
                "case_readers": ["business_unit"],
                "starters": {"escape": ["business_unit"]},
            }
        )
    )
    services.deploy(db, diagram_set.read_directories(processes, FAILING / "forms"), actor="owner", now=T0)


def test_an_http_completion_whose_code_raises_system_exit_answers_an_error_and_leaves_the_case_in_error(
    web_db: Database, client: FlaskClient, auth: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    deploy_failing(web_db, tmp_path)
    started = services.start_instance(web_db, "escape", {}, actor="intake", now=T0)
    (task,) = started.open_tasks

    response = client.post(f"/api/tasks/{task.id}/complete", json={"data": {"divisor": 1}}, headers=auth("intake"))

    assert response.status_code == 422
    error: dict[str, Any] = response.get_json()["error"]
    assert error["code"] == "script_failed"
    assert "SystemExit" in error["message"]
    after = services.get_instance(web_db, started.id)
    assert after.status == "error"
    assert after.data == started.data
    assert [e.kind for e in services.list_events(web_db, started.id)] == ["started", "error"]


def test_readiness_reports_a_timer_worker_that_stopped_beating(web_db: Database, client: FlaskClient) -> None:
    real_now = datetime.now(UTC)
    timers.beat(web_db, "timers:gone", now=real_now - timedelta(minutes=10), poll_seconds=1)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "timer worker not running"}

    timers.beat(web_db, "timers:replacement", now=real_now, poll_seconds=1)
    assert client.get("/readyz").status_code == 200


def test_a_backtracking_form_pattern_answers_a_clear_error_and_the_process_runs_on_meanwhile() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a|aa)+$"}}}
    ticks: list[int] = []
    stop = threading.Event()

    def tick() -> None:  # another request's thread: it must not wait for the pattern
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.01)

    other = threading.Thread(target=tick)
    other.start()
    try:
        with pytest.raises(InvalidData) as caught:
            forms.validate(schema, {"code": "a" * 31 + "!"})
    finally:
        stop.set()
        other.join()

    assert caught.value.fields == {"/code": ["could not be checked against its pattern in time; shorten it"]}
    assert len(ticks) > 3


def test_form_patterns_still_match_and_refuse_as_before() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^F[0-9]+$"}}}

    forms.validate(schema, {"code": "F12"})
    with pytest.raises(InvalidData) as caught:
        forms.validate(schema, {"code": "G12"})

    assert caught.value.fields == {"/code": ["'G12' does not match '^F[0-9]+$'"]}
