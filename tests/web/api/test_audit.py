"""The audit surface over HTTP: who may verify, trace, fix data and read the timescale report, and
auditors refused every change, API and pages alike, generated from the route registry and the URL map."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from cprflow import services
from cprflow.db.database import Database
from cprflow.web import api  # noqa: F401 - importing it registers every API route in OPERATIONS
from cprflow.web.openapi import OPERATIONS
from tests.web.conftest import APPROVAL, CASE, USERS, db_state, in_review, now, password, task_of

Call = Callable[..., Any]
READ_ALL = {"auditor", "admin"}
CASE_READERS = {"business_unit", "review_subgroup"}  # the sample's permissions.json: case_readers
#: Page POSTs that change only the signed-in person's own session or preference, never a case.
PERSONAL_PAGE_POSTS = {"/login", "/logout", "/language", "/settings/notifications"}
#: API changes to the signed-in person's own email settings: an auditor may keep their address current.
PERSONAL_API = {"/me/notification-settings"}


def roles(who: str) -> set[str]:
    return set(USERS[who][0])


def may_read(who: str) -> bool:
    return bool(roles(who) & (READ_ALL | CASE_READERS))


@pytest.fixture
def case(web_db: Database) -> services.InstanceView:
    return in_review(web_db)


# ---------------------------------------------------------------------------------------------
# Auditors change nothing: every mutating API route and every page POST, from the registries


def _fill(rule: str, case: services.InstanceView) -> str:
    task = case.open_tasks[0]
    return (
        rule.replace("<int:instance_id>", str(case.id)).replace("<task_id>", task.id).replace("<int:version_id>", "1")
    )


BODIES: dict[str, dict[str, Any]] = {
    "/instances": {"json": {"process": "sample_case", "data": {}}},
    "/instances/<int:instance_id>/messages": {"json": {"name": "case_closed", "payload": {}}},
    "/instances/<int:instance_id>/data-fix": {"json": {"values": {"child_name": "Alex"}, "reason": "typo"}},
    "/tasks/<task_id>/draft": {"json": {"data": {}}},
    "/tasks/<task_id>/complete": {"json": {"data": CASE}},
    "/processes/check": {"json": {"files": {"processes/sample_case.bpmn": "<x/>"}}},
    "/instances/<int:instance_id>/migrate": {"json": {"to_version": 1, "reason": "audit"}},
    "/versions/<int:version_id>/current": {"json": {"note": "audit"}},
}
MUTATING = [op for op in OPERATIONS if op.method != "GET" and op.rule != "/auth/token" and op.rule not in PERSONAL_API]


def test_the_table_covers_every_mutating_route() -> None:
    rules = {op.rule for op in MUTATING}
    assert {
        "/instances/<int:instance_id>/data-fix",
        "/instances/<int:instance_id>/retry",
        "/instances/<int:instance_id>/suspend",
        "/processes/deploy",
        "/tasks/<task_id>/complete",
    } <= rules
    for op in MUTATING:  # a new mutating route with a body needs one here, or its refusal proves nothing
        assert op.body is None or op.rule in BODIES or op.body.__name__ == "ReasonRequest", op.rule


@pytest.mark.parametrize("who", ["auditor", "audit_clerk"])
@pytest.mark.parametrize("op", MUTATING, ids=[f"{o.method} {o.rule}" for o in MUTATING])
def test_auditors_are_refused_every_api_change(
    call: Call, web_db: Database, case: services.InstanceView, who: str, op: Any
) -> None:
    options = BODIES.get(op.rule) or ({"json": {"reason": "audit"}} if op.body else {})
    if op.multipart:  # a fresh upload each time: the client closes what it sends
        options = {"data": {"files": [(io.BytesIO(b"<x/>"), "triage.dmn")]}, "content_type": "multipart/form-data"}
    before = db_state(web_db)
    body = call(op.method, "/api" + _fill(op.rule, case), who, 403, **options)
    assert body["error"]["code"] == "forbidden"
    assert db_state(web_db) == before


def _sign_in(client: FlaskClient, who: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": who, "password": password(who), "csrf_token": token})
    assert response.status_code == 302


def _csrf(client: FlaskClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/tasks").text).group(1)  # type: ignore[union-attr]


def _page_posts(app: Flask) -> list[str]:
    return sorted(
        r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or set()) and not r.rule.startswith("/api/")
    )


def test_auditors_are_refused_every_page_post(
    app: Flask, client: FlaskClient, web_db: Database, case: services.InstanceView
) -> None:
    posts = _page_posts(app)
    assert PERSONAL_PAGE_POSTS <= set(posts)
    _sign_in(client, "auditor")
    token = _csrf(client)
    for rule in sorted(set(posts) - PERSONAL_PAGE_POSTS):
        for action in ("complete", "draft"):
            before = db_state(web_db)
            response = client.post(_fill(rule, case), data={"csrf_token": token, "_action": action, "/child_name": "X"})
            assert response.status_code in (403, 404), (rule, response.status_code)
            assert db_state(web_db) == before, rule


# ---------------------------------------------------------------------------------------------
# The new API operations, for every role


OPS = ["verify", "trace", "report", "data_fix", "retry"]


def expected(who: str, op: str) -> int:
    if op == "verify":
        return 200 if roles(who) & READ_ALL else 403
    if op == "trace":
        return 200 if may_read(who) else 404
    if op == "report":
        return 200
    if op == "data_fix":
        return 200 if "admin" in roles(who) else 403
    if op == "retry":
        return 409 if "admin" in roles(who) else 403  # allowed, but the case is not in error
    raise AssertionError(op)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("who", list(USERS))
def test_audit_operations_by_role(call: Call, web_db: Database, case: services.InstanceView, who: str, op: str) -> None:
    url = f"/api/instances/{case.id}"
    method, path, options = {
        "verify": ("GET", "/api/audit/verify", {}),
        "trace": ("GET", f"{url}/trace", {}),
        "report": ("GET", "/api/reports/timescales", {}),
        "data_fix": ("POST", f"{url}/data-fix", {"json": {"values": {"child_name": "Alex"}, "reason": "Misspelt"}}),
        "retry": ("POST", f"{url}/retry", {"json": {"reason": "try again"}}),
    }[op]
    status = expected(who, op)
    before = db_state(web_db)
    body = call(method, path, who, status, **options)
    after = db_state(web_db)
    if status >= 400 or op in ("verify", "report"):
        assert after == before
    if op == "verify" and status == 200:
        assert body["ok"] is True and body["broken"] == [] and f"instance:{case.id}" in body["heads"]
    if op == "trace" and status == 200:
        assert body["markers"]["record_case"] == "completed"
        assert {body["markers"][t.bpmn_id] for t in case.open_tasks} == {"active"}
        assert body["timeline"][0]["kind"] == "started"
    if op == "data_fix" and status == 200:
        assert body["data"]["child_name"] == "Alex"
        fix = services.list_events(web_db, case.id)[-1]
        assert (fix.kind, fix.actor, fix.detail["reason"]) == ("data_fixed", who, "Misspelt")
        assert fix.detail["changes"] == {"child_name": {"before": "Sam", "after": "Alex"}}


def test_a_completion_records_the_keys_it_changed(web_db: Database, case: services.InstanceView) -> None:
    approval = task_of(case, "manager_approval")
    services.complete_task(web_db, approval.id, APPROVAL, actor="manager", now=now())
    event = services.list_events(web_db, case.id)[-1]
    assert event.kind == "task_completed"
    assert event.detail["changes"]["manager_decision"] == {"before": None, "after": "approved"}
    assert set(event.detail["changes"]) >= {"manager_decision"}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"values": {"child_name": 7}, "reason": "x"}, "/values/child_name"),
        ({"values": {"no_such_key": "x"}, "reason": "x"}, "/values/no_such_key"),
        ({"values": {}, "reason": "x"}, "/values"),
        ({"values": {"typename": "x"}, "reason": "x"}, "/values/typename"),
        ({"values": {"child_name": "Alex"}, "reason": "   "}, "/reason"),
        ({"values": {"child_name": "Alex"}}, "/reason"),
    ],
)
def test_a_bad_data_fix_is_refused_naming_the_field_and_changes_nothing(
    call: Call, web_db: Database, case: services.InstanceView, body: dict[str, Any], pointer: str
) -> None:
    before = db_state(web_db)
    found = call("POST", f"/api/instances/{case.id}/data-fix", "admin", 422, json=body)
    assert pointer in found["error"]["fields"], found
    assert db_state(web_db) == before


def test_a_data_fix_on_a_finished_case_is_a_conflict(call: Call, web_db: Database, case: services.InstanceView) -> None:
    services.set_status(web_db, case.id, "terminate", reason="closed in error", actor="admin", now=now())
    call(
        "POST", f"/api/instances/{case.id}/data-fix", "admin", 409, json={"values": {"child_name": "A"}, "reason": "r"}
    )


def test_verify_over_the_api_names_a_tampered_event(call: Call, web_db: Database, case: services.InstanceView) -> None:
    with web_db.engine.begin() as c:
        c.execute(
            text("UPDATE events SET actor = 'nobody' WHERE kind = 'started' AND instance_id = :i"), {"i": case.id}
        )
    body = call("GET", "/api/audit/verify", "auditor", 200)
    assert body["ok"] is False
    assert [(b["chain"], b["problem"], b["seq"]) for b in body["broken"]] == [(f"instance:{case.id}", "edited", 1)]
    one = call("GET", f"/api/audit/verify?instance={case.id}", "auditor", 200)
    assert one["chains"] == 1 and not one["ok"]


def test_trace_filters_over_the_api(call: Call, web_db: Database, case: services.InstanceView) -> None:
    body = call("GET", f"/api/instances/{case.id}/trace?kind=task_completed&actor=intake", "auditor", 200)
    assert [e["summary"] for e in body["timeline"]] == ["Record the case completed"]
    recorded = body["timeline"][0]["data"]  # less what the system recorded itself (who completed it, when)
    assert {k: v for k, v in recorded.items() if k not in services.KNOWN_FACTS} == CASE
    assert call("GET", f"/api/instances/{case.id}/trace?since=2999-01-01", "auditor", 200)["timeline"] == []
    bad = call("GET", f"/api/instances/{case.id}/trace?since=yesterday", "auditor", 422)
    assert "since" in json.dumps(bad["error"]["fields"])
