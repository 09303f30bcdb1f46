"""The process owners' pages, their JSON for the editors, and the API endpoints: who may use
them (a table over every role), and what they do, on the real review diagrams."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.config import Settings
from cprflow.core.expressions import WALES
from cprflow.db.database import Database
from cprflow.db.models import ROLES
from cprflow.diagrams import diagram_set
from cprflow.services import modeling, users
from cprflow.web import create_app
from tests.conftest import ROOT
from tests.scenarios import cpr

PASSWORD = "a long enough password"
BPMN = "processes/child_practice_review.bpmn"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real diagrams deployed as version 1 and one user per role, built once (hashing is slow)."""
    path = tmp_path_factory.mktemp("modeler") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    services.deploy(database, diagram_set.read_directories(ROOT / "processes", ROOT / "forms"), actor="owner", now=NOW)
    for role in ROLES:
        users.add_user(
            database, role, password=PASSWORD, roles=[role], agency="police" if role == "agency" else None, now=NOW
        )
    database.dispose()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Iterator[Database]:
    shutil.copy(template, tmp_path / "modeler.db")
    database = Database(f"sqlite:///{tmp_path / 'modeler.db'}")
    yield database
    database.dispose()


@pytest.fixture
def client(db: Database) -> FlaskClient:
    return create_app(Settings(database_url=db.url, secret_key="modeler-" + "x" * 30), db=db).test_client()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf(?:_token|-token)" (?:value|content)="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str) -> str:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text
    return csrf(client.get("/tasks").text)


def bearer(client: FlaskClient, username: str) -> dict[str, str]:
    token = client.post("/api/auth/token", json={"username": username, "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


def edited_bpmn(
    db: Database,
    old: str = 'action_plan_period = process_timescales["action_plan"]',
    new: str = 'action_plan_period = "P2W"',
) -> str:
    return modeling.version_files(db, 1)[BPMN].replace(old, new)


# ---------------------------------------------------------------------------------------------
# Who may: every role against every endpoint (process owners edit; auditors and admins also read)

READ = ("process_owner", "auditor", "admin")
EDIT = ("process_owner",)
PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("GET", "/modeler/", EDIT),
    ("GET", f"/modeler/diagram?file={BPMN}", EDIT),
    ("GET", "/modeler/table?file=processes/cpr_review_type.dmn", EDIT),
    ("GET", "/modeler/form?name=finalise_action_plan", EDIT),
    ("GET", "/modeler/versions", READ),
    ("GET", "/modeler/versions/1", READ),
    ("GET", "/modeler/versions/1.zip", READ),
    ("GET", "/modeler/versions/1/migrate", EDIT),
    ("GET", f"/modeler/data/file?path={BPMN}", EDIT),
    ("POST", "/modeler/data/check", EDIT),
    ("POST", "/modeler/data/form-preview", EDIT),
    ("GET", "/modeler/drafts", EDIT),
    ("GET", "/modeler/drafts/process_owner", EDIT),
    ("GET", "/modeler/data/drafts", EDIT),
    ("PUT", "/modeler/data/drafts", EDIT),
    ("POST", "/modeler/data/drafts/discard", EDIT),
    ("GET", "/modeler/data/operators", EDIT),
]
API: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/api/processes/check", EDIT),
    ("GET", "/api/versions", READ),
    ("GET", "/api/versions/1/diff", READ),
    ("GET", "/api/versions/1/migrations", EDIT),
]
BODIES = {
    "/modeler/data/check": {"files": {"forms/x.schema.json": "{}"}},
    "/modeler/data/drafts": {"path": "forms/x.schema.json", "content": "{}", "revision": 0},
    "/modeler/data/drafts/discard": {"paths": ["forms/x.schema.json"]},
    "/modeler/data/form-preview": {"schema": '{"type": "object"}'},
    "/api/processes/check": {"files": {"forms/x.schema.json": "{}"}},
}


@pytest.mark.parametrize("role", ROLES)
def test_only_the_roles_allowed_reach_each_page(client: FlaskClient, role: str) -> None:
    token = sign_in(client, role)
    for method, url, allowed in PAGES:
        response = client.open(url, method=method, json=BODIES.get(url.split("?")[0]), headers={"X-CSRFToken": token})
        assert response.status_code == (200 if role in allowed else 403), (role, url, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_roles_allowed_reach_each_api_endpoint(client: FlaskClient, role: str) -> None:
    headers = bearer(client, role)
    for method, url, allowed in API:
        response = client.open(url, method=method, json=BODIES.get(url), headers=headers)
        assert response.status_code == (200 if role in allowed else 403), (role, url, response.status_code)
        if role not in allowed:
            assert response.json["error"]["code"] == "forbidden"
    migrate = client.post("/api/instances/1/migrate", json={"to_version": 2, "reason": "r"}, headers=headers)
    assert migrate.status_code == (404 if role in EDIT else 403)  # no instance 1 here


def test_signed_out_pages_go_to_sign_in_and_data_says_401(client: FlaskClient) -> None:
    assert client.get("/modeler/").status_code == 302
    assert client.get(f"/modeler/data/file?path={BPMN}").status_code == 401


def test_the_editors_json_needs_the_csrf_token(client: FlaskClient, db: Database) -> None:
    sign_in(client, "process_owner")
    response = client.post("/modeler/data/deploy", json={"files": {BPMN: edited_bpmn(db)}})
    assert response.status_code == 400
    assert [v["id"] for v in services.list_versions(db)] == [1]


# ---------------------------------------------------------------------------------------------
# What they do


def test_check_then_deploy_from_the_editor_makes_a_version(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    broken = edited_bpmn(db, 'action_plan_period = process_timescales["action_plan"]', "action_plan_period = _secret")
    report = client.post("/modeler/data/check", json={"files": {BPMN: broken}}, headers={"X-CSRFToken": token}).json
    assert report["ok"] is False
    assert [(p["file"], p["element"]) for p in report["problems"]] == [(BPMN, "set_timescales")]
    refused = client.post(
        "/modeler/data/deploy", json={"files": {BPMN: broken}, "note": "try"}, headers={"X-CSRFToken": token}
    )
    assert refused.status_code == 422 and refused.json["error"]["code"] == "deploy_refused"
    assert list(refused.json["error"]["fields"]) == [f"{BPMN}#set_timescales"]
    no_note = client.post(
        "/modeler/data/deploy", json={"files": {BPMN: edited_bpmn(db)}, "note": " "}, headers={"X-CSRFToken": token}
    )
    assert no_note.status_code == 422 and list(no_note.json["error"]["fields"]) == ["/note"]

    deployed = client.post(
        "/modeler/data/deploy",
        json={"files": {BPMN: edited_bpmn(db)}, "note": "Two weeks for the action plan"},
        headers={"X-CSRFToken": token},
    )
    assert deployed.status_code == 201 and deployed.json["version_id"] == 2
    listed = client.get("/modeler/versions").text
    assert "process_owner" in listed and "/modeler/versions/2/migrate" in listed
    diff = client.get("/modeler/versions/2").text
    [added] = re.findall(r'<tr class="line--added">.*?action_plan_period.*?</tr>', diff, re.S)
    assert "set_timescales" in diff and "<ins>" in added and "P2W" in added  # the changed line, marked
    archive = zipfile.ZipFile(io.BytesIO(client.get("/modeler/versions/2.zip").data))
    assert 'action_plan_period = "P2W"' in archive.read(BPMN).decode()


def test_bad_edits_get_the_error_shape_naming_the_field(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    response = client.post("/modeler/data/check", json={"files": {"../x.bpmn": "<x/>"}}, headers={"X-CSRFToken": token})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"/files/../x.bpmn": ["must be under processes/ or forms/"]}
    response = client.post("/modeler/data/check", json={"files": "no"}, headers={"X-CSRFToken": token})
    assert response.status_code == 422 and "/files" in response.json["error"]["fields"]


def test_form_preview_renders_as_the_task_page_does(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    schema = modeling.version_files(db, 1)["forms/finalise_action_plan.schema.json"]
    shown = client.post("/modeler/data/form-preview", json={"schema": schema}, headers={"X-CSRFToken": token})
    assert shown.status_code == 200
    import json

    from cprflow.web import formrender

    # as the task page opens it: the date the form fills in as today holds today's date (in Wales)
    opening = {"finalised_date": datetime.now(WALES).date().isoformat()}
    assert shown.json["html"] == str(formrender.render_form(json.loads(schema), {}, opening, {}, "en"))
    bad = client.post("/modeler/data/form-preview", json={"schema": '{"type": 5}'}, headers={"X-CSRFToken": token})
    assert bad.status_code == 422 and list(bad.json["error"]["fields"]) == ["/schema"]


def test_api_versions_diff_and_migration(client: FlaskClient, db: Database) -> None:
    headers = bearer(client, "process_owner")
    review = services.start_instance(db, "child_practice_review", cpr.start_data(), actor="business_unit", now=NOW)
    modeling.deploy_edits(db, {BPMN: edited_bpmn(db)}, actor="process_owner", now=NOW)
    versions = client.get("/api/versions", headers=headers).json["versions"]
    assert [(v["id"], v["deployed_by"]) for v in versions] == [(2, "process_owner"), (1, "owner")]
    diff = client.get("/api/versions/2/diff", headers=headers).json
    assert diff["against"] == 1 and [f["file"] for f in diff["files"]] == [BPMN]
    [preview] = client.get("/api/versions/2/migrations", headers=headers).json["instances"]
    assert (preview["instance_id"], preview["movable"]) == (review.id, True)
    moved = client.post(
        f"/api/instances/{review.id}/migrate", json={"to_version": 2, "reason": "new timescales"}, headers=headers
    )
    assert moved.status_code == 200 and moved.json["version_id"] == 2
    again = client.post(
        f"/api/instances/{review.id}/migrate", json={"to_version": 2, "reason": "again"}, headers=headers
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "migration_refused"
    missing = client.post(f"/api/instances/{review.id}/migrate", json={"reason": ""}, headers=headers)
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"/to_version", "/reason"}


def test_migration_page_moves_the_chosen_reviews(client: FlaskClient, db: Database) -> None:
    first = services.start_instance(db, "child_practice_review", cpr.start_data(), actor="business_unit", now=NOW)
    second = services.start_instance(db, "child_practice_review", cpr.start_data(), actor="business_unit", now=NOW)
    modeling.deploy_edits(db, {BPMN: edited_bpmn(db)}, actor="process_owner", now=NOW)
    sign_in(client, "process_owner")
    page = client.get("/modeler/versions/2/migrate").text
    assert f'name="instance" value="{first.id}"' in page and f'name="instance" value="{second.id}"' in page
    response = client.post(
        "/modeler/versions/2/migrate",
        data={"csrf_token": csrf(page), "instance": [str(first.id)], "reason": "new timescales"},
    )
    assert response.status_code == 302
    assert services.get_instance(db, first.id).version_id == 2
    assert services.get_instance(db, second.id).version_id == 1
    [event] = [e for e in services.list_events(db, first.id) if e.kind == "migrated"]
    assert (event.actor, event.detail["reason"]) == ("process_owner", "new timescales")


def test_migration_page_says_what_is_missing_and_keeps_what_was_given(client: FlaskClient, db: Database) -> None:
    """Sent with no review chosen, the page answers with GOV.UK's error summary linking to the first
    box and the message by the table; the reason typed is kept, and nothing moves."""
    review = services.start_instance(db, "child_practice_review", cpr.start_data(), actor="business_unit", now=NOW)
    modeling.deploy_edits(db, {BPMN: edited_bpmn(db)}, actor="process_owner", now=NOW)
    sign_in(client, "process_owner")
    token = csrf(client.get("/modeler/versions/2/migrate").text)
    response = client.post("/modeler/versions/2/migrate", data={"csrf_token": token, "reason": "new timescales"})
    assert response.status_code == 422
    page = response.text
    summary = page.split('class="govuk-error-summary"')[1].split("</div>\n</div>")[0]
    assert '<a href="#f-instance">Select at least one review to move</a>' in summary
    assert "Enter the reason" not in page  # the reason was given
    assert 'id="f-instance-error"' in page  # the message by the table, read with the first box
    assert re.search(rf'value="{review.id}" id="f-instance"\s*aria-describedby="f-instance-error"', page)
    assert 'value="new timescales"' in page and "<title>Error:" in page
    both = client.post("/modeler/versions/2/migrate", data={"csrf_token": token, "reason": " "})
    assert "Select at least one review to move" in both.text and 'href="#f-reason"' in both.text
    assert services.get_instance(db, review.id).version_id == 1


def test_migration_page_names_new_elements_a_review_has_passed(client: FlaskClient, db: Database) -> None:
    """A review already at 'Record the referral' never runs a step the new version adds before it:
    the page says so, so the process owner knows what that step sets will be missing."""
    review = services.start_instance(db, "child_practice_review", cpr.start_data(), actor="business_unit", now=NOW)
    step = (
        '<bpmn:scriptTask id="note_channel" name="Note the channel" scriptFormat="python">'
        "<bpmn:incoming>Flow_referral_received_record_referral</bpmn:incoming>"
        "<bpmn:outgoing>Flow_note_channel_record_referral</bpmn:outgoing>"
        '<bpmn:script>channel = "web"</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="Flow_note_channel_record_referral" sourceRef="note_channel" targetRef="record_referral" />'
    )
    bpmn = edited_bpmn(
        db,
        '<bpmn:sequenceFlow id="Flow_referral_received_record_referral" sourceRef="referral_received" targetRef="record_referral" />',
        '<bpmn:sequenceFlow id="Flow_referral_received_record_referral" sourceRef="referral_received" targetRef="note_channel" />'
        + step,
    ).replace(
        "<bpmn:incoming>Flow_referral_received_record_referral</bpmn:incoming>\n",
        "<bpmn:incoming>Flow_note_channel_record_referral</bpmn:incoming>\n",
        1,
    )
    modeling.deploy_edits(db, {BPMN: bpmn}, actor="process_owner", now=NOW)
    sign_in(client, "process_owner")
    page = client.get("/modeler/versions/2/migrate").text
    assert f'name="instance" value="{review.id}"' in page  # it can still move
    assert "which it will not run" in page
    assert "note_channel (child_practice_review)" in page


def test_the_pages_speak_welsh(client: FlaskClient) -> None:
    token = sign_in(client, "process_owner")
    client.post("/language", data={"language": "cy", "csrf_token": token})
    page = client.get("/modeler/").text
    assert "Dylunio prosesau" in page and "Tablau penderfynu" in page


def test_the_deploy_checks_messages_are_in_the_readers_language(client: FlaskClient, db: Database) -> None:
    """Problems and still-to-do warnings are worded for people in English and Welsh, not English under
    Welsh headings; what a check can only say in English (a parser's own words) is marked lang="en"."""
    files = modeling.version_files(db, 1)
    no_form = files[BPMN].replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="record_referral.schema.json" />', "", 1
    )
    no_welsh = files[BPMN].replace('<spiffworkflow:property name="nameCy" value="Cofnodi\'r atgyfeiriad" />', "", 1)
    assert no_form != files[BPMN] and no_welsh != files[BPMN]
    broken = {BPMN: no_form}

    token = sign_in(client, "process_owner")
    english = client.post("/modeler/data/check", json={"files": broken}, headers={"X-CSRFToken": token}).json
    client.post("/language", data={"language": "cy", "csrf_token": token})
    welsh = client.post("/modeler/data/check", json={"files": broken}, headers={"X-CSRFToken": token}).json

    assert [(p["message"], p["lang"]) for p in english["problems"]] == [
        ("user task names no form (property formJsonSchemaFilename)", "en")
    ]
    assert [(p["message"], p["lang"], p["element"]) for p in welsh["problems"]] == [
        ("nid yw'r dasg defnyddiwr yn enwi ffurflen (priodwedd formJsonSchemaFilename)", "cy", "record_referral")
    ]
    refused = client.post("/modeler/data/deploy", json={"files": broken, "note": "try"}, headers={"X-CSRFToken": token})
    assert [p["message"] for p in refused.json["error"]["problems"]] == [welsh["problems"][0]["message"]]
    bad_json = client.post(
        "/modeler/data/check", json={"files": {"forms/x.schema.json": "{not json"}}, headers={"X-CSRFToken": token}
    ).json["problems"]
    assert [p["message"].startswith("nid yw'n JSON dilys: Expecting") for p in bad_json] == [True]  # the parser's words
    # the API speaks English to programs whatever the page language
    api = client.post("/api/processes/check", json={"files": broken}, headers=bearer(client, "process_owner")).json
    assert [p["message"] for p in api["problems"]] == [english["problems"][0]["message"]]

    deployed = client.post(
        "/modeler/data/deploy",
        json={"files": {BPMN: no_welsh}, "note": "Welsh name to follow"},
        headers={"X-CSRFToken": token},
    )
    assert deployed.status_code == 201, deployed.json
    assert (
        f"{BPMN}: nid oes enw Cymraeg (nameCy) gan y dasg defnyddiwr 'Record the referral' (record_referral)"
        in (deployed.json["warnings"])
    )


def test_every_deploy_check_message_has_welsh_text() -> None:
    """Each message a check words for people (``Text(...)`` in the code) is in the Welsh catalogue."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    with (ROOT / "src/cprflow/web/translations/cy/LC_MESSAGES/messages.po").open("rb") as po:
        welsh = {m.id: m.string for m in read_po(po) if m.id}
    worded = {
        message
        for _, _, message, _, _ in extract_from_dir(
            ROOT / "src/cprflow", [("**.py", "python")], keywords={"Text": None}
        )
    }
    assert len(worded) > 40
    assert sorted(m for m in worded if not welsh.get(m)) == []
