"""The editors' drafts over HTTP, the timescales page, the deploy note and the line diff, with the
page cookie and CSRF token, on the real review diagrams."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import drafts, modeling
from tests.conftest import ROOT

# The owners-and-roles database and client of test_web, shared as fixtures: tests take them as arguments.
# ruff: noqa: F811
from tests.web.pages.test_modeler import BPMN, client, csrf, db, edited_bpmn, sign_in, template  # noqa: F401

TIMESCALES = (ROOT / "processes" / "timescales.json").read_text()  # as shipped
DMN = "processes/cpr_review_type.dmn"
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def headers(token: str) -> dict[str, str]:
    return {"X-CSRFToken": token}


@pytest.fixture
def with_timescales(db: Database) -> Database:
    """The real set, whose timescales file the shipped diagrams read their periods from."""
    assert modeling.version_files(db, 1)[diagram_set.TIMESCALES_FILE] == TIMESCALES
    return db


# ---------------------------------------------------------------------------------------------
# Drafts over HTTP


def test_an_edit_saved_in_one_tab_opens_in_another_and_others_read_it(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    saved = client.put(
        "/modeler/data/drafts", json={"path": BPMN, "content": edited_bpmn(db), "revision": 0}, headers=headers(token)
    )
    assert saved.status_code == 200 and saved.json["revision"] == 1 and saved.json["saved_at"]
    opened = client.get(f"/modeler/data/file?path={BPMN}").json
    assert opened["draft"]["revision"] == 1 and 'action_plan_period = "P2W"' in opened["draft"]["content"]
    assert (
        'action_plan_period = process_timescales["action_plan"]' in opened["content"]
    )  # the newest version, unchanged

    stale = client.put(
        "/modeler/data/drafts", json={"path": BPMN, "content": "<x/>", "revision": 0}, headers=headers(token)
    )
    assert stale.status_code == 409 and stale.json["error"]["code"] == "draft_changed"

    # Another process owner sees who is editing, and reads the changes without being able to save them.
    drafts.save(
        db, "olwen", DMN, modeling.version_files(db, 1)[DMN].replace("Review type", "Type"), revision=0, now=NOW
    )
    listed = client.get("/modeler/data/drafts").json
    assert [(d["path"], d["revision"]) for d in listed["mine"]] == [(BPMN, 1)]
    assert [(d["owner"], d["path"]) for d in listed["others"]] == [("olwen", DMN)]
    page = client.get("/modeler/drafts/olwen").text
    assert "Read only" in page and "cpr_review_type" in page
    assert "/modeler/drafts/olwen" in client.get("/modeler/drafts").text


def test_discard_names_the_files_and_drops_only_those(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    client.put(
        "/modeler/data/drafts", json={"path": BPMN, "content": edited_bpmn(db), "revision": 0}, headers=headers(token)
    )
    refused = client.post("/modeler/data/drafts/discard", json={"paths": []}, headers=headers(token))
    assert refused.status_code == 422 and "/paths" in refused.json["error"]["fields"]
    done = client.post("/modeler/data/drafts/discard", json={"paths": [BPMN, DMN]}, headers=headers(token))
    assert done.json == {"discarded": [BPMN]}
    assert client.get("/modeler/data/drafts").json["mine"] == []


def test_check_and_deploy_take_the_saved_drafts_and_the_note(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    client.put(
        "/modeler/data/drafts", json={"path": BPMN, "content": edited_bpmn(db), "revision": 0}, headers=headers(token)
    )
    report = client.post("/modeler/data/check", json={}, headers=headers(token)).json
    assert report["ok"] and report["revisions"] == {BPMN: 1} and report["stale"] == []
    no_note = client.post("/modeler/data/deploy", json={"note": "", "revisions": {BPMN: 1}}, headers=headers(token))
    assert no_note.status_code == 422 and no_note.json["error"]["fields"] == {
        "/note": ["Enter a note saying why you are deploying"]
    }
    deployed = client.post(
        "/modeler/data/deploy",
        json={"note": "The Board agreed two weeks for the action plan", "revisions": {BPMN: 1}},
        headers=headers(token),
    )
    assert deployed.status_code == 201 and deployed.json["version_id"] == 2
    assert client.get("/modeler/data/drafts").json["mine"] == []
    assert "The Board agreed two weeks for the action plan" in client.get("/modeler/versions").text


def test_deploying_over_a_newer_deploy_is_refused_naming_it(client: FlaskClient, db: Database) -> None:
    token = sign_in(client, "process_owner")
    client.put(
        "/modeler/data/drafts", json={"path": BPMN, "content": edited_bpmn(db), "revision": 0}, headers=headers(token)
    )
    modeling.deploy_edits(db, {BPMN: edited_bpmn(db, new='action_plan_period = "P3W"')}, actor="bryn", now=NOW)
    refused = client.post("/modeler/data/deploy", json={"note": "mine"}, headers=headers(token))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "drafts_stale"
    assert [(s["path"], s["version_id"], s["deployed_by"]) for s in refused.json["error"]["stale"]] == [
        (BPMN, 2, "bryn")
    ]
    again = client.post("/modeler/data/deploy", json={"note": "mine", "confirm_stale": [BPMN]}, headers=headers(token))
    assert again.status_code == 201 and again.json["version_id"] == 3


def test_the_operators_list_comes_from_the_registry(client: FlaskClient) -> None:
    sign_in(client, "process_owner")
    listed = {o["name"]: o for o in client.get("/modeler/data/operators").json["operators"]}
    assert listed["notify"]["required"] == ["template"]
    assert set(listed["notify"]["optional"]) == {"role", "lane", "users", "reference"}
    assert {"letter", "file_findings", "anonymisation_check"} <= set(listed)


# ---------------------------------------------------------------------------------------------
# Timescales


def timescales_form(page: str, **changes: str) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {"csrf_token": csrf(page)}
    fields["revision"] = re.search(r'name="revision" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    for name, value in re.findall(r'name="([a-z_]+\.[a-z_]+\.amount)"[^>]*value="([^"]*)"', page):
        fields[name] = value
    for name in re.findall(r'name="([a-z_]+\.[a-z_]+\.unit)"', page):
        block = page[page.index(f'name="{name}"') :]
        fields[name] = re.search(r'<option value="(\w)" selected', block).group(1)  # type: ignore[union-attr]
    fields.update(changes)
    return fields


def test_a_local_timescale_changes_as_a_number_and_unit_saved_as_a_draft(
    client: FlaskClient,
    with_timescales: Database,
) -> None:
    sign_in(client, "process_owner")
    page = client.get("/modeler/timescales").text
    assert "Notify Welsh Government" in page and "Statutory" in page and "Local" in page
    form = timescales_form(page, **{"child_practice_review.notification.amount": "7"})
    response = client.post("/modeler/timescales", data=form)
    assert response.status_code == 302
    draft = drafts.get(with_timescales, "process_owner", diagram_set.TIMESCALES_FILE)
    assert draft is not None
    saved = json.loads(draft.content or "")
    assert saved["child_practice_review"]["notification"]["duration"] == "P7D"
    assert saved["single_unified_safeguarding_review"] == json.loads(TIMESCALES)["single_unified_safeguarding_review"]
    assert saved["child_practice_review"]["completion"] == json.loads(TIMESCALES)["child_practice_review"]["completion"]
    shown = client.get("/modeler/timescales").text
    assert "Deployed now: 5 days; your edit, not yet deployed: 7 days." in shown


def test_bad_numbers_are_refused_naming_the_timescale_and_nothing_is_saved(
    client: FlaskClient,
    with_timescales: Database,
) -> None:
    sign_in(client, "process_owner")
    page = client.get("/modeler/timescales").text
    for bad in ("0", "seven", "1000", "-3", "2.5"):
        form = timescales_form(page, **{"child_practice_review.notification.amount": bad})
        response = client.post("/modeler/timescales", data=form)
        assert response.status_code == 422, bad
        assert "Enter a whole number from 1 to 999 for Notify Welsh Government" in response.text
        assert 'href="#child_practice_review.notification.amount"' in response.text
    form = timescales_form(page, **{"child_practice_review.audit_cycle.unit": "H"})
    assert (
        "Choose days, weeks, months or years for Action plan audit cycle"
        in client.post("/modeler/timescales", data=form).text
    )
    assert drafts.get(with_timescales, "process_owner", diagram_set.TIMESCALES_FILE) is None


def test_a_statutory_timescale_changes_only_once_confirmed_again(
    client: FlaskClient,
    with_timescales: Database,
) -> None:
    sign_in(client, "process_owner")
    page = client.get("/modeler/timescales").text
    form = timescales_form(page, **{"child_practice_review.completion.amount": "7"})
    first = client.post("/modeler/timescales", data=form)
    assert first.status_code == 422
    assert "Confirm each change to a statutory timescale, or put it back" in first.text
    assert "Yes, change the statutory timescale “Complete the review” from 6 months to 7 months" in first.text
    assert drafts.get(with_timescales, "process_owner", diagram_set.TIMESCALES_FILE) is None

    form["confirm"] = ["child_practice_review.completion"]
    assert client.post("/modeler/timescales", data=form).status_code == 302
    draft = drafts.get(with_timescales, "process_owner", diagram_set.TIMESCALES_FILE)
    assert json.loads(draft.content or "")["child_practice_review"]["completion"]["duration"] == "P7M"  # type: ignore[union-attr]


def test_a_bad_number_beside_a_statutory_change_is_one_problem_not_two(
    client: FlaskClient,
    with_timescales: Database,
) -> None:
    sign_in(client, "process_owner")
    page = client.get("/modeler/timescales").text
    form = timescales_form(
        page,
        **{
            "child_practice_review.completion.amount": "seven",
            "child_practice_review.action_plan.amount": "5",
        },
    )
    shown = client.post("/modeler/timescales", data=form).text
    assert "Enter a whole number from 1 to 999 for Complete the review" in shown
    assert "Confirm each change to a statutory timescale" not in shown
    assert "from 4 weeks to 5 weeks" in shown and "Complete the review” from" not in shown
    assert 'value="seven"' in shown  # what was typed comes back to be corrected


def test_the_timescales_page_speaks_welsh(client: FlaskClient, with_timescales: Database) -> None:
    token = sign_in(client, "process_owner")
    client.post("/language", data={"language": "cy", "csrf_token": token})
    page = client.get("/modeler/timescales").text
    assert "Hysbysu Llywodraeth Cymru" in page and "Statudol" in page and "Lleol" in page
    assert "Diwrnodau" in page and "Yn cyfrif o: penderfyniad y Bwrdd." in page


def test_changed_timescales_show_in_the_diff(client: FlaskClient, with_timescales: Database) -> None:
    sign_in(client, "process_owner")
    version = services.list_versions(with_timescales)[0]["id"]
    edited = modeling.with_durations(TIMESCALES, {("child_practice_review", "notification"): "P7D"})
    result = modeling.deploy_edits(
        with_timescales, {diagram_set.TIMESCALES_FILE: edited}, actor="o", now=NOW, note="7 days"
    )
    page = client.get(f"/modeler/versions/{result.version_id}?against={version}").text
    assert "child_practice_review.notification" in page
    assert re.search(r'<tr class="line--removed">.*?P<del>5</del>D', page, re.S)
    assert re.search(r'<tr class="line--added">.*?P<ins>7</ins>D', page, re.S)
    assert "7 days" in page  # the note


# ---------------------------------------------------------------------------------------------
# The scripts' words


def test_every_word_the_editors_scripts_use_has_english_and_welsh(client: FlaskClient) -> None:
    from cprflow.web.pages import modeler_strings

    scripts = ROOT / "src" / "cprflow" / "web" / "static" / "modeler"
    used = {key for js in scripts.glob("*.js") for key in re.findall(r'\bT\("(\w+)"', js.read_text())}
    used |= {f"kind.{k}" for k in ("text", "textarea", "integer", "number", "boolean", "date", "choice", "other")}
    used |= {f"field_{k}" for k in ("title", "title_cy", "hint", "hint_cy")}
    assert used - set(modeler_strings.STRINGS) == set()

    token = sign_in(client, "process_owner")
    english = client.get("/modeler/").text
    client.post("/language", data={"language": "cy", "csrf_token": token})
    welsh = client.get("/modeler/").text

    def strings(page: str) -> dict[str, str]:
        found = re.search(r'<script type="application/json" id="cprflow-strings">(.*?)</script>', page, re.S)
        assert found
        return dict(json.loads(found.group(1)))

    en, cy = strings(english), strings(welsh)
    assert set(en) == set(cy) == set(modeler_strings.STRINGS)
    assert [key for key in en if en[key] == cy[key]] == []
