"""One corpus of bad input over HTTP: each case a clear 4xx naming the field at fault, and no change
to anything stored.

Every case is a row: the request (method, path, who sends it, body or uploads), the status, the
error code and the JSON pointers (or deploy file#element) expected in ``error.fields``. The world
the paths point into is built once: an open intake task, a case in review (its intake task closed),
and a suspended case. Deploy refusals at the service level, with their lines and elements, are
tested in tests/test_processes.py; here the same attacks arrive as uploads, as an attacker sends them.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from cprflow import services
from cprflow.db.database import Database
from cprflow.services import sessions, users
from tests.conftest import SAMPLE
from tests.diagrams.test_diagram_set import BILLION_LAUGHS, REMINDER_SCRIPT, XXE
from tests.web.conftest import CASE, SECRET, db_state, in_review, now, seal, started, task_of

BPMN = (SAMPLE / "processes" / "sample_case.bpmn").read_text(encoding="utf-8")
DMN = (SAMPLE / "processes" / "triage.dmn").read_text(encoding="utf-8")
DEFAULT_MAX_REQUEST = 5 * 1024 * 1024
NOTHING = object()


def with_script(script: str) -> bytes:
    assert REMINDER_SCRIPT in BPMN
    return BPMN.replace(REMINDER_SCRIPT, f"<bpmn:script>{script}</bpmn:script>").encode()


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


# ---------------------------------------------------------------------------------------------
# The world the cases point into: built once, copied for each case


@dataclass(frozen=True)
class World:
    record_open: str  # the intake task of a newly started case
    record_closed: str  # the intake task of the case in review, completed
    approval: str  # the manager's approval, open, in the case in review
    suspended_approval: str  # the manager's approval in a suspended case
    review: int
    intake: int
    suspended: int
    intake_user: int

    def fill(self, path: str) -> str:
        return path.format(**vars(self))


@pytest.fixture(scope="module")
def world_file(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    path = tmp_path_factory.mktemp("corpus") / "cprflow.db"
    shutil.copyfile(template_db, path)
    db = Database(f"sqlite:///{path}")
    fresh = started(db)
    review = in_review(db)
    paused = in_review(db)
    services.set_status(db, paused.id, "suspend", reason="held for the corpus", actor="admin", now=now())
    closed = [e.task_id for e in services.list_events(db, review.id) if e.kind == "task_completed"]
    world = World(
        record_open=fresh.open_tasks[0].id,
        record_closed=str(closed[0]),
        approval=task_of(review, "manager_approval").id,
        suspended_approval=task_of(paused, "manager_approval").id,
        review=review.id,
        intake=fresh.id,
        suspended=paused.id,
        intake_user=next(u.id for u in users.list_users(db) if u.username == "intake"),
    )
    seal(db)
    return path, world


@pytest.fixture
def db_template(world_file: tuple[Path, World]) -> Path:
    return world_file[0]


@pytest.fixture
def world(world_file: tuple[Path, World]) -> World:
    return world_file[1]


# ---------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Bad:
    id: str
    category: str
    method: str
    path: str  # "{record_open}" and the like are filled from the World
    who: str | None  # a username (bearer token), "page:<username>" (session cookie), a bad-token kind, or None
    status: int
    code: str | None  # None for pages, which answer with HTML
    fields: tuple[str, ...] = ()
    json: Any = NOTHING
    raw: bytes | str | None = None
    content_type: str = "application/json"
    files: tuple[tuple[str, bytes], ...] = ()
    form: dict[str, str] = field(default_factory=dict)


def upload(id: str, category: str, name: str, content: bytes, status: int, code: str, *fields: str) -> Bad:
    return Bad(id, category, "POST", "/api/processes/deploy", "owner", status, code, fields, files=((name, content),))


def refused(id: str, name: str, content: bytes, where: str) -> Bad:
    return upload(id, "hostile-diagram", name, content, 422, "deploy_refused", where)


START, TOKEN = "/api/instances", "/api/auth/token"
COMPLETE, DRAFT = "/api/tasks/{record_open}/complete", "/api/tasks/{record_open}/draft"
MESSAGE = "/api/instances/{review}/messages"
SAMPLE_BPMN, TRIAGE = "processes/sample_case.bpmn", "processes/triage.dmn"
DEEP = "/data" + "/a" * 64  # the first value past the nesting limit

CORPUS: list[Bad] = [
    # malformed JSON: not JSON, not an object, or JSON that cannot be stored or answered
    Bad("token-truncated", "malformed-json", "POST", TOKEN, None, 400, "malformed_request", raw='{"username": '),
    Bad("start-not-json", "malformed-json", "POST", START, "intake", 400, "malformed_request", raw="{not json"),
    Bad("start-array", "malformed-json", "POST", START, "intake", 400, "malformed_request", json=["sample_case"]),
    Bad("start-null", "malformed-json", "POST", START, "intake", 400, "malformed_request", raw="null"),
    Bad(
        "start-form-encoded",
        "malformed-json",
        "POST",
        START,
        "intake",
        400,
        "malformed_request",
        raw="process=sample_case",
        content_type="application/x-www-form-urlencoded",
    ),
    Bad(
        "start-not-utf8",
        "malformed-json",
        "POST",
        START,
        "intake",
        400,
        "malformed_request",
        raw=b'{"process": "sample\xff\xfecase"}',
    ),
    Bad(
        "start-nested-past-the-parser",
        "malformed-json",
        "POST",
        START,
        "intake",
        400,
        "malformed_request",
        raw="[" * 100_000 + "]" * 100_000,
    ),
    Bad(
        "complete-nested-too-deep",
        "malformed-json",
        "POST",
        COMPLETE,
        "intake",
        400,
        "malformed_request",
        (DEEP,),
        json={"data": nested(100)},
    ),
    Bad(
        "draft-nan",
        "malformed-json",
        "POST",
        DRAFT,
        "intake",
        400,
        "malformed_request",
        ("/data/risk_score",),
        raw='{"data": {"risk_score": NaN}}',
    ),
    Bad(
        "start-infinity",
        "malformed-json",
        "POST",
        START,
        "intake",
        400,
        "malformed_request",
        ("/data/n",),
        raw='{"process": "sample_case", "data": {"n": 1e999}}',
    ),
    Bad(
        "start-nul-in-string",
        "malformed-json",
        "POST",
        START,
        "intake",
        400,
        "malformed_request",
        ("/process",),
        json={"process": "sample\u0000case"},
    ),
    Bad(
        "message-lone-surrogate",
        "malformed-json",
        "POST",
        MESSAGE,
        "intake",
        400,
        "malformed_request",
        ("/payload/note",),
        raw='{"name": "case_closed", "payload": {"note": "\\ud800"}}',
    ),
    Bad(
        "query-with-nul",
        "malformed-json",
        "GET",
        "/api/tasks?lane=Intake%00",
        "intake",
        422,
        "invalid_request",
        ("/lane",),
    ),
    # wrong types
    Bad(
        "token-username-number",
        "wrong-type",
        "POST",
        TOKEN,
        None,
        422,
        "invalid_request",
        ("/username",),
        json={"username": 5, "password": "password-of-intake"},
    ),
    Bad(
        "start-process-number",
        "wrong-type",
        "POST",
        START,
        "intake",
        422,
        "invalid_request",
        ("/process",),
        json={"process": 7},
    ),
    Bad(
        "start-data-list",
        "wrong-type",
        "POST",
        START,
        "intake",
        422,
        "invalid_request",
        ("/data",),
        json={"process": "sample_case", "data": ["a"]},
    ),
    Bad(
        "complete-data-string",
        "wrong-type",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_request",
        ("/data",),
        json={"data": "Sam"},
    ),
    Bad(
        "complete-form-field-type",
        "wrong-type",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_data",
        ("/data/risk_score",),
        json={"data": {**CASE, "risk_score": "high"}},
    ),
    Bad(
        "complete-form-field-format",
        "wrong-type",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_data",
        ("/data/referral_date",),
        json={"data": {**CASE, "referral_date": "yesterday"}},
    ),
    Bad(
        "suspend-reason-number",
        "wrong-type",
        "POST",
        "/api/instances/{review}/suspend",
        "admin",
        422,
        "invalid_request",
        ("/reason",),
        json={"reason": 5},
    ),
    Bad(
        "instances-page-text",
        "wrong-type",
        "GET",
        "/api/instances?page=x",
        "manager",
        422,
        "invalid_request",
        ("/page",),
    ),
    Bad(
        "tasks-instance-text",
        "wrong-type",
        "GET",
        "/api/tasks?instance=abc",
        "intake",
        422,
        "invalid_request",
        ("/instance",),
    ),
    Bad(
        "tasks-instance-past-any-id",
        "wrong-type",
        "GET",
        "/api/tasks?instance=99999999999999999999",
        "intake",
        422,
        "invalid_request",
        ("/instance",),
    ),
    # missing fields
    Bad(
        "token-no-password",
        "missing-field",
        "POST",
        TOKEN,
        None,
        422,
        "invalid_request",
        ("/password",),
        json={"username": "intake"},
    ),
    Bad("start-no-process", "missing-field", "POST", START, "intake", 422, "invalid_request", ("/process",), json={}),
    Bad("complete-no-data", "missing-field", "POST", COMPLETE, "intake", 422, "invalid_request", ("/data",), json={}),
    Bad(
        "complete-form-field-missing",
        "missing-field",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_data",
        ("/data/child_name",),
        json={"data": {k: v for k, v in CASE.items() if k != "child_name"}},
    ),
    Bad(
        "message-no-name",
        "missing-field",
        "POST",
        MESSAGE,
        "intake",
        422,
        "invalid_request",
        ("/name",),
        json={"payload": {}},
    ),
    Bad(
        "suspend-no-reason",
        "missing-field",
        "POST",
        "/api/instances/{review}/suspend",
        "admin",
        422,
        "invalid_request",
        ("/reason",),
        json={},
    ),
    Bad(
        "suspend-blank-reason",
        "missing-field",
        "POST",
        "/api/instances/{review}/suspend",
        "admin",
        422,
        "invalid_data",
        ("/reason",),
        json={"reason": "   "},
    ),
    # unknown fields
    Bad(
        "token-unknown-field",
        "unknown-field",
        "POST",
        TOKEN,
        None,
        422,
        "invalid_request",
        ("/remember",),
        json={"username": "intake", "password": "password-of-intake", "remember": True},
    ),
    Bad(
        "start-unknown-field",
        "unknown-field",
        "POST",
        START,
        "intake",
        422,
        "invalid_request",
        ("/colour",),
        json={"process": "sample_case", "colour": "red"},
    ),
    Bad(
        "complete-unknown-form-field",
        "unknown-field",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_data",
        ("/data/favourite_colour",),
        json={"data": {**CASE, "favourite_colour": "red"}},
    ),
    Bad(
        "draft-unknown-field",
        "unknown-field",
        "POST",
        DRAFT,
        "intake",
        422,
        "invalid_request",
        ("/autosave",),
        json={"data": {}, "autosave": True},
    ),
    Bad(
        "instances-unknown-query",
        "unknown-field",
        "GET",
        "/api/instances?sort=id",
        "manager",
        422,
        "invalid_request",
        ("/sort",),
    ),
    # oversized bodies and uploads
    Bad(
        "start-body-too-large",
        "oversized",
        "POST",
        START,
        "intake",
        413,
        "request_entity_too_large",
        json={"process": "sample_case", "data": {"note": "x" * (DEFAULT_MAX_REQUEST + 1)}},
    ),
    upload(
        "deploy-upload-too-large",
        "oversized",
        "triage.dmn",
        b"x" * (DEFAULT_MAX_REQUEST + 1),
        413,
        "request_entity_too_large",
    ),
    Bad(
        "reason-too-long",
        "oversized",
        "POST",
        "/api/instances/{review}/terminate",
        "admin",
        422,
        "invalid_request",
        ("/reason",),
        json={"reason": "x" * 2001},
    ),
    # typename: SpiffWorkflow's serializer would turn such a dict into an object
    Bad(
        "start-typename",
        "typename",
        "POST",
        START,
        "intake",
        422,
        "invalid_data",
        ("/data/typename",),
        json={"process": "sample_case", "data": {"typename": "Task"}},
    ),
    Bad(
        "start-typename-in-a-list",
        "typename",
        "POST",
        START,
        "intake",
        422,
        "invalid_data",
        ("/data/a/0/typename",),
        json={"process": "sample_case", "data": {"a": [{"typename": "x"}]}},
    ),
    Bad(
        "draft-typename-nested",
        "typename",
        "POST",
        DRAFT,
        "intake",
        422,
        "invalid_data",
        ("/data/child_name/typename",),
        json={"data": {"child_name": {"typename": "x"}}},
    ),
    Bad(
        "complete-typename",
        "typename",
        "POST",
        COMPLETE,
        "intake",
        422,
        "invalid_data",
        ("/data/typename",),
        json={"data": {**CASE, "typename": "Task"}},
    ),
    Bad(
        "message-typename",
        "typename",
        "POST",
        MESSAGE,
        "intake",
        422,
        "invalid_data",
        ("/payload/typename",),
        json={"name": "case_closed", "payload": {"typename": "x"}},
    ),
    # unknown tasks
    Bad("get-unknown-task", "unknown-task", "GET", "/api/tasks/no-such-task", "intake", 404, "not_found"),
    Bad(
        "complete-unknown-task",
        "unknown-task",
        "POST",
        f"/api/tasks/{uuid.uuid4()}/complete",
        "intake",
        404,
        "not_found",
        json={"data": CASE},
    ),
    Bad("claim-unknown-task", "unknown-task", "POST", "/api/tasks/x/claim", "manager", 404, "not_found"),
    Bad("get-task-id-with-nul", "unknown-task", "GET", "/api/tasks/%00", "intake", 404, "not_found"),
    # tasks that are no longer (or not now) ready
    Bad("get-closed-task", "not-ready-task", "GET", "/api/tasks/{record_closed}", "intake", 409, "task_not_ready"),
    Bad(
        "draft-closed-task",
        "not-ready-task",
        "POST",
        "/api/tasks/{record_closed}/draft",
        "intake",
        409,
        "task_not_ready",
        json={"data": {}},
    ),
    Bad(
        "claim-closed-task",
        "not-ready-task",
        "POST",
        "/api/tasks/{record_closed}/claim",
        "intake",
        409,
        "task_not_ready",
    ),
    Bad(
        "complete-in-a-suspended-case",
        "not-ready-task",
        "POST",
        "/api/tasks/{suspended_approval}/complete",
        "manager",
        409,
        "instance_not_active",
        json={"data": {"manager_decision": "approved"}},
    ),
    # replayed completions
    Bad(
        "complete-replayed",
        "replayed-completion",
        "POST",
        "/api/tasks/{record_closed}/complete",
        "intake",
        409,
        "task_not_ready",
        json={"data": CASE},
    ),
    # the wrong instance, or none
    Bad(
        "message-to-a-case-not-waiting",
        "wrong-instance",
        "POST",
        "/api/instances/{intake}/messages",
        "intake",
        409,
        "not_waiting",
        json={"name": "case_closed", "payload": {}},
    ),
    Bad("get-unknown-instance", "wrong-instance", "GET", "/api/instances/999", "manager", 404, "not_found"),
    Bad("get-instance-zero", "wrong-instance", "GET", "/api/instances/0", "manager", 404, "not_found"),
    Bad("get-instance-past-any-id", "wrong-instance", "GET", "/api/instances/" + "9" * 30, "manager", 404, "not_found"),
    Bad("events-unknown-instance", "wrong-instance", "GET", "/api/instances/999/events", "auditor", 404, "not_found"),
    Bad(
        "terminate-unknown-instance",
        "wrong-instance",
        "POST",
        "/api/instances/999/terminate",
        "admin",
        404,
        "not_found",
        json={"reason": "r"},
    ),
    Bad(
        "terminate-instance-past-any-id",
        "wrong-instance",
        "POST",
        "/api/instances/" + "9" * 30 + "/terminate",
        "admin",
        404,
        "not_found",
        json={"reason": "r"},
    ),
    Bad(
        "resume-a-running-case",
        "wrong-instance",
        "POST",
        "/api/instances/{review}/resume",
        "admin",
        409,
        "instance_not_active",
        json={"reason": "r"},
    ),
    # forged, expired, revoked and malformed credentials
    *[
        Bad(f"token-{kind}", "bad-token", "GET", "/api/instances", kind, 401, "unauthenticated")
        for kind in ("forged", "expired", "revoked", "garbage", "basic", "cookie:intake")
    ],
    Bad("no-credentials", "bad-token", "POST", START, None, 401, "unauthenticated", json={"process": "sample_case"}),
    # malformed and hostile diagrams, uploaded by a process owner
    refused(
        "deploy-xxe", "triage.dmn", (XXE + DMN.split("?>\n", 1)[1].replace("High risk score", "&xxe;")).encode(), TRIAGE
    ),
    refused(
        "deploy-billion-laughs",
        "sample_case.bpmn",
        (BILLION_LAUGHS + BPMN.split("?>\n", 1)[1].replace('name="Record the case"', 'name="&lol9;"')).encode(),
        SAMPLE_BPMN,
    ),
    refused(
        "deploy-dunder-import",
        "sample_case.bpmn",
        with_script("__import__('os').system('id')"),
        f"{SAMPLE_BPMN}#send_reminder",
    ),
    refused(
        "deploy-dunder-walk",
        "sample_case.bpmn",
        with_script("x = ().__class__.__base__.__subclasses__()"),
        f"{SAMPLE_BPMN}#send_reminder",
    ),
    refused("deploy-while-true", "sample_case.bpmn", with_script("while True: pass"), f"{SAMPLE_BPMN}#send_reminder"),
    refused(
        "deploy-memory-bomb", "sample_case.bpmn", with_script("x = [0] * (10 ** 10)"), f"{SAMPLE_BPMN}#send_reminder"
    ),
    refused(
        "deploy-deeply-nested-expression",
        "sample_case.bpmn",
        with_script("x = " + " + ".join(["1"] * 2000)),
        f"{SAMPLE_BPMN}#send_reminder",
    ),
    refused(
        "deploy-hostile-condition",
        "sample_case.bpmn",
        BPMN.replace('priority == "low"', "__import__('os').system('id') == 0").encode(),
        f"{SAMPLE_BPMN}#flow_advice",
    ),
    refused(
        "deploy-hostile-decision",
        "triage.dmn",
        DMN.replace(
            '<outputEntry id="triage_rule_4_priority"><text>"low"</text>',
            "<outputEntry id=\"triage_rule_4_priority\"><text>open('/etc/passwd').read()</text>",
        ).encode(),
        f"{TRIAGE}#triage_rule_4_priority",
    ),
    refused(
        "deploy-huge-diagram",
        "sample_case.bpmn",
        BPMN.replace("</bpmn:definitions>", f"<!-- {'x' * 3_000_000} --></bpmn:definitions>").encode(),
        SAMPLE_BPMN,
    ),
    refused(
        "deploy-not-utf8", "sample_case.bpmn", BPMN.replace("Record the case", "Caf\xe9").encode("latin-1"), SAMPLE_BPMN
    ),
    refused("deploy-not-well-formed", "sample_case.bpmn", BPMN.replace("</bpmn:process>", "", 1).encode(), SAMPLE_BPMN),
    refused("deploy-form-not-json", "escalate.schema.json", b'{"type": "object"', "forms/escalate.schema.json"),
    upload("deploy-path-traversal", "hostile-diagram", "../../etc/passwd", b"<x/>", 422, "invalid_data", "/files"),
    upload("deploy-unsupported-file", "hostile-diagram", "notes.txt", b"hello", 422, "invalid_data", "/files"),
    Bad(
        "deploy-no-files",
        "hostile-diagram",
        "POST",
        "/api/processes/deploy",
        "owner",
        400,
        "malformed_request",
        content_type="multipart/form-data",
        form={"other": "x"},
    ),
    # form posts without a CSRF token (pages; the API takes no cookie at all)
    Bad(
        "login-without-csrf",
        "csrf",
        "POST",
        "/login",
        None,
        400,
        None,
        form={"username": "intake", "password": "password-of-intake"},
    ),
    Bad(
        "task-form-without-csrf",
        "csrf",
        "POST",
        "/tasks/{record_open}",
        "page:intake",
        400,
        None,
        form={"/child_name": "Sam", "_action": "complete"},
    ),
    Bad(
        "draft-form-without-csrf",
        "csrf",
        "POST",
        "/tasks/{record_open}",
        "page:intake",
        400,
        None,
        form={"/child_name": "Sam", "_action": "draft"},
    ),
    Bad("language-without-csrf", "csrf", "POST", "/language", "page:intake", 400, None, form={"language": "cy"}),
]

CATEGORIES = {
    "malformed-json",
    "wrong-type",
    "missing-field",
    "unknown-field",
    "oversized",
    "typename",
    "unknown-task",
    "not-ready-task",
    "wrong-instance",
    "replayed-completion",
    "hostile-diagram",
    "bad-token",
    "csrf",
}


def bad_token(kind: str, world: World) -> str:
    """An Authorization header that must not sign anyone in."""
    if kind == "forged":
        return "Bearer " + URLSafeTimedSerializer("another-secret-" + "y" * 20, salt="cprflow-api-token").dumps(
            {"u": world.intake_user, "v": 1}
        )
    if kind == "expired":  # signed properly nine hours ago; tokens live eight
        with time_machine.travel(now() - timedelta(hours=9), tick=False):
            return "Bearer " + URLSafeTimedSerializer(SECRET, salt="cprflow-api-token").dumps(
                {"u": world.intake_user, "v": 1}
            )
    if kind == "revoked":  # signed properly, for a token version the account has moved past
        return "Bearer " + URLSafeTimedSerializer(SECRET, salt="cprflow-api-token").dumps(
            {"u": world.intake_user, "v": 0}
        )
    if kind == "basic":
        return "Basic aW50YWtlOnBhc3N3b3JkLW9mLWludGFrZQ=="
    return "Bearer not-a-token"


def multipart(files: tuple[tuple[str, bytes], ...]) -> tuple[bytes, str]:
    """The body a browser would send. (Werkzeug's test client spools big uploads to a temporary file
    that it never closes, which the warnings-as-errors setting rightly reports.)"""
    boundary = f"corpus-{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def prepare(bad: Bad, client: FlaskClient, world: World, auth: Callable[[str], dict[str, str]]) -> dict[str, Any]:
    """The request's options for ``client.open`` (tokens are fetched here, before the state is read)."""
    headers: dict[str, str] = {}
    who = bad.who
    if who and (who.startswith("page:") or who.startswith("cookie:")):
        token = sessions.start(client.application.extensions["cprflow.db"], world.intake_user, now=datetime.now(UTC))
        with client.session_transaction() as session:
            session["uid"], session["tv"], session["sid"] = world.intake_user, 1, token
    elif who in ("forged", "expired", "revoked", "garbage", "basic"):
        headers["Authorization"] = bad_token(who, world)
    elif who:
        headers.update(auth(who))
    options: dict[str, Any] = {"method": bad.method, "headers": headers}
    if bad.files:
        body, content_type = multipart(bad.files)
        options.update(data=body, content_type=content_type)
    elif bad.form:
        options.update(data=bad.form, content_type=bad.content_type if bad.path.startswith("/api/") else None)
    elif bad.raw is not None:
        options.update(data=bad.raw, content_type=bad.content_type)
    elif bad.json is not NOTHING:
        options.update(data=json.dumps(bad.json), content_type="application/json")
    return {k: v for k, v in options.items() if v is not None}


@pytest.mark.parametrize("bad", CORPUS, ids=[b.id for b in CORPUS])
def test_bad_input_is_refused_and_changes_nothing(
    bad: Bad,
    client: FlaskClient,
    web_db: Database,
    world: World,
    auth: Callable[[str], dict[str, str]],
    expect: Callable[..., Any],
) -> None:
    options = prepare(bad, client, world, auth)
    before = db_state(web_db)
    response = client.open(world.fill(bad.path), **options)
    assert db_state(web_db) == before, "a refused request changed stored state"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if bad.code is None:  # a page: the same facts as HTML
        assert response.status_code == bad.status, text[:300]
        assert "CSRF" in text
        return
    body = expect(response, bad.status)  # the status, the one error shape, and the documented schema
    assert body["error"]["code"] == bad.code, body
    assert sorted(body["error"]["fields"]) == sorted(bad.fields), body["error"]
    assert body["error"]["message"]


def test_the_corpus_covers_every_category() -> None:
    assert {b.category for b in CORPUS} == CATEGORIES
    assert len({b.id for b in CORPUS}) == len(CORPUS)


def test_the_corpus_world_is_what_the_cases_assume(web_db: Database, world: World) -> None:
    """If the world drifted (say the intake task stopped being open), cases would pass for the wrong reason."""
    assert services.get_instance(web_db, world.intake).open_tasks[0].id == world.record_open
    assert world.record_closed not in {t.id for t in services.get_instance(web_db, world.review).open_tasks}
    assert services.get_instance(web_db, world.suspended).status == "suspended"
    assert services.get_instance(web_db, world.review).waiting_for == []
