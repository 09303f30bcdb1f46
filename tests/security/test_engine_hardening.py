"""Diagram code that tries to end the process, and readiness when timers have stopped firing."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jinja2 import TemplateError

from cprflow import services
from cprflow.core import forms
from cprflow.core.errors import DeployRefused, InvalidData
from cprflow.core.views import DocumentView
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.features import anonymisation, letters, notifications
from cprflow.services import timers
from tests.conftest import ROOT, SAMPLE, T0

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


class StuckPattern:
    """Stands in for a search that does not give up by itself (regex's own timeout counts CPU time,
    which on a loaded machine passes far slower than the clock)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def finditer(self, text: str, **options: Any) -> Any:
        self.release.wait(10)
        return iter(())


def test_an_anonymisation_search_is_abandoned_at_its_bound_in_wall_clock_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anonymisation, "SEARCH_TIMEOUT", 0.25)
    stuck = StuckPattern()
    rules = anonymisation.Rules([("slow", "Slow", stuck, None)], frozenset(), 3, frozenset())
    report = DocumentView(
        1, 1, "report", 1, "report.pdf", "application/pdf", 10, "0" * 64, "clerk", T0, True, "extracted"
    )

    try:
        found = anonymisation.scan(rules, report, "z" * 40 + " the end", {}, {})
    finally:
        stuck.release.set()

    assert [(f["kind"], f["label"]) for f in found] == [("search_timeout", "The check 'slow' did not finish")]


HOSTILE_TEMPLATES = [
    ("{{ 'x' * 30000000 }}", "more than the sandbox allows"),
    ("{% for i in range(1500) %}{% for j in range(1500) %}x{% endfor %}{% endfor %}", "at most 1,000 items"),
    ("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}", "more than 200,000 characters"),
    (
        "{% set ns = namespace(x='ab') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}",
        # doubling outruns both bounds: whichever it meets first (time or memory) stops it
        "took longer than|needed more memory than",
    ),
]


@pytest.mark.parametrize(("body", "message"), HOSTILE_TEMPLATES, ids=["multiply", "range", "output", "doubling"])
def test_deploy_refuses_a_notification_template_that_would_exhaust_the_machine(
    db: Database, tmp_path: Path, body: str, message: str
) -> None:
    diagrams = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")
    name = "forms/task_overdue.notification.json"
    template = json.loads(diagrams.files[name])
    template["en"]["body"] = body
    diagrams.files[name] = json.dumps(template).encode()

    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, diagrams, actor="owner", now=T0)

    assert [p.file for p in refused.value.problems] == [name]
    assert re.search(message, refused.value.problems[0].message), refused.value.problems[0].message
    assert services.list_versions(db) == []


@pytest.mark.parametrize(("body", "message"), HOSTILE_TEMPLATES, ids=["multiply", "range", "output", "doubling"])
def test_emails_and_letters_are_rendered_within_the_same_bounds(body: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        notifications.render(body, notifications.SAMPLE_CONTEXT)
    letter = {lang: {"title": "Letter", "paragraphs": [body]} for lang in ("en", "cy")}
    with pytest.raises(TemplateError, match=message):
        letters.render_html(letter, {}, "en", T0)


def test_process_owners_make_a_version_current_over_the_api_and_others_may_not(
    web_db: Database, client: FlaskClient, auth: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(SAMPLE, changed)
    dmn = changed / "processes" / "triage.dmn"
    dmn.write_text(dmn.read_text().replace('<text>"urgent"</text>', '<text>"low"</text>', 1))
    services.deploy(web_db, diagram_set.read_directories(changed / "processes", changed / "forms"), actor="o", now=T0)
    for who in ("clerk", "auditor", "admin"):
        assert client.post("/api/versions/1/current", json={}, headers=auth(who)).status_code == 403
    assert client.post("/api/versions/99/current", json={}, headers=auth("owner")).status_code == 404

    response = client.post("/api/versions/1/current", json={"note": "roll back"}, headers=auth("owner"))

    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["version_id"], answer["current"], answer["current_version_id"]) == (1, True, 1)
    assert answer["message"] == "version 1 is current: new reviews start on it (version 2 was current before)"
    assert client.get("/api/processes", headers=auth("clerk")).get_json()["version_id"] == 1
