"""The findings repository over HTTP: who may read and export it (table-driven from the deployed
permissions data), the API's answers against its OpenAPI document, and the staff pages."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.core import operators
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.features import findings
from tests.conftest import ROOT, T0
from tests.web.conftest import USERS, password, started

REAL = diagram_set.read_directories(ROOT / "processes", ROOT / "forms")
PRODUCT_READERS = {"auditor", "admin"}
BOARDS = ["Gwent", "North Wales", "West Glamorgan <script>alert(1)</script>"]


def permissions_without(role: str) -> dict[str, Any]:
    document = json.loads(REAL.files["processes/permissions.json"])
    document["repository"]["readers"] = [r for r in document["repository"]["readers"] if r != role]
    return document


VARIANTS = {
    "as shipped": json.loads(REAL.files["processes/permissions.json"]),
    "agencies left out": permissions_without("agency"),
}


def deploy(db: Database, permissions: dict[str, Any]) -> None:
    files = {**REAL.files, "processes/permissions.json": json.dumps(permissions).encode()}
    services.deploy(db, diagram_set.DiagramSet(files), actor="owner", now=T0)


def seed(db: Database) -> list[int]:
    """Three reviews on information sharing across three Boards in 2026 (recurring under themes.json)."""
    ids = []
    for n, board in enumerate(BOARDS):
        instance = started(db, {"child_name": "Sam Example"})
        with db.transaction() as session, operators.step(session, instance.id, "intake", T0) as step:
            operators.call(
                "file_findings",
                {
                    "board": board,
                    "year": 2026,
                    "review_type": "susr" if n else "concise",
                    "themes": ["information_sharing"] + (["neglect"] if n == 0 else []),
                    "findings": [f"Finding {n}: referrals were not shared."],
                    "actions": [f"Action {n}"],
                },
            )
            step.apply(instance.id)
        ids.append(instance.id)
    return ids


def may(user: str, permissions: dict[str, Any], kind: str) -> bool:
    roles = set(USERS[user][0])
    return bool(roles & PRODUCT_READERS or roles & set(permissions["repository"].get(kind, [])))


ENDPOINTS = [
    ("/api/findings?q=referrals&theme=information_sharing", "readers"),
    ("/api/findings/themes", "readers"),
    ("/api/findings/trends?year=2026", "readers"),
    ("/api/findings/recurring", "readers"),
    ("/api/findings/export", "exporters"),
]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_who_may_read_and_export_the_repository(web_db: Database, call: Callable[..., Any], variant: str) -> None:
    permissions = VARIANTS[variant]
    deploy(web_db, permissions)
    seed(web_db)
    outcomes = {}
    for user in USERS:
        for url, kind in ENDPOINTS:
            status = 200 if may(user, permissions, kind) else 403
            call("GET", url, user, status)
            outcomes[(user, url)] = status
    for url, _ in ENDPOINTS:
        call("GET", url, None, 401)
    # Not vacuous: both answers occur, and the variant changes who reads.
    assert set(outcomes.values()) == {200, 403}
    assert outcomes[("police", ENDPOINTS[0][0])] == (200 if variant == "as shipped" else 403)
    assert outcomes[("intake", "/api/findings/export")] == 200 and outcomes[("manager", "/api/findings/export")] == 403


def test_the_api_searches_and_exports_without_ids(web_db: Database, call: Callable[..., Any]) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    seed(web_db)
    found = call("GET", "/api/findings?q=shared+referral&theme=neglect", "police", 200)
    assert found["total"] == 1 and found["results"][0]["board"] == "Gwent"
    assert found["results"][0]["items"][0] == {
        "kind": "finding",
        "text": "Finding 0: referrals were not shared.",
        "matched": True,
    }
    trends = call("GET", "/api/findings/trends", "chair", 200)
    assert trends["theme"] == [{"key": "information_sharing", "reviews": 3}, {"key": "neglect", "reviews": 1}]
    assert trends["year"] == [{"key": "2026", "reviews": 3}]
    recurring = call("GET", "/api/findings/recurring?year=2026", "manager", 200)
    assert recurring["recurring"] == [
        {
            "theme": "information_sharing",
            "label": "Information sharing",
            "label_cy": "Rhannu gwybodaeth",
            "year": 2026,
            "reviews": 3,
            "boards": sorted(BOARDS),
        }
    ]
    exported = call("GET", "/api/findings/export", "intake", 200)
    text = json.dumps(exported)
    assert len(exported["reviews"]) == 3 and "Sam Example" not in text and "instance" not in text
    assert {key for r in exported["reviews"] for key in r} == {
        "board",
        "year",
        "review_type",
        "themes",
        "findings",
        "recommendations",
        "actions",
    }


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/findings?theme=gossip", "/theme"),
        ("/api/findings?year=twenty", "year"),
        ("/api/findings?q=" + "x" * 501, "q"),
        ("/api/findings/recurring?year=1", "year"),
    ],
)
def test_bad_queries_name_the_parameter_and_change_nothing(
    web_db: Database, call: Callable[..., Any], url: str, field: str
) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    body = call("GET", url, "intake", 422)
    assert any(field in pointer for pointer in body["error"]["fields"]), body


# ---------------------------------------------------------------------------------------------
# Pages


def sign_in(client: FlaskClient, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": password(username), "csrf_token": token})
    assert response.status_code == 302, response.text


def test_pages_search_by_theme_and_show_trends_as_escaped_svg(web_db: Database, client: FlaskClient) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    seed(web_db)
    assert client.get("/learning").status_code == 302  # signed-out people are sent to sign in
    sign_in(client, "police")
    page = client.get("/learning?theme=neglect")
    assert (
        page.status_code == 200
        and "1 review found" in page.text
        and "Finding 0: referrals were not shared." in page.text
    )
    assert "Finding 1" not in page.text and "Download CSV" not in page.text  # agencies read but do not export
    page = client.get("/learning?q=referrals")
    assert "3 reviews found" in page.text and "<script>alert(1)</script>" not in page.text
    trends = client.get("/learning/trends").text
    assert (
        trends.count("<svg") == 3
        and "<script>alert" not in trends
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in trends
    )
    assert client.get("/learning?theme=gossip").status_code == 422


def test_recurring_themes_page_starts_a_forum_on_the_topic(web_db: Database, client: FlaskClient) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    seed(web_db)
    sign_in(client, "intake")
    page = client.get("/learning/recurring").text
    assert "Information sharing" in page and "Start a forum on this topic" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert (
        client.post("/learning/recurring/forum", data={"theme": "information_sharing", "year": "2026"}).status_code
        == 400
    )
    response = client.post(
        "/learning/recurring/forum", data={"theme": "information_sharing", "year": "2026", "csrf_token": token}
    )
    assert response.status_code == 302
    forum = services.list_instances(web_db, process_id="multi_agency_professional_forum")[0][0]
    assert forum.data["forum_request"]["topic"] == "information_sharing"
    assert forum.data["forum_request"]["board_area"] == ", ".join(sorted(BOARDS))


def test_the_export_download_is_anonymised_and_recorded(web_db: Database, client: FlaskClient) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    seed(web_db)
    sign_in(client, "owner")
    response = client.get("/learning/export.csv?theme=information_sharing")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(findings.CSV_COLUMNS) and len(rows) == 1 + 6
    assert "Sam Example" not in response.text
    assert client.get("/learning/export.json").get_json()["reviews"][0]["board"] == "Gwent"
    with web_db.transaction(write=False) as session:
        from sqlalchemy import select

        from cprflow.db.models import Event

        kinds = session.execute(select(Event.actor, Event.detail).where(Event.kind == "findings_exported")).all()
    assert [(a, d["format"], d["reviews"]) for a, d in kinds] == [("owner", "csv", 3), ("owner", "json", 3)]
    sign_in(client, "manager")
    assert client.get("/learning/export.csv").status_code == 403


def test_pages_in_welsh(web_db: Database, client: FlaskClient) -> None:
    deploy(web_db, VARIANTS["as shipped"])
    seed(web_db)
    sign_in(client, "chair")
    with client.session_transaction() as session:
        session["lang"] = "cy"
    page = client.get("/learning/trends").text
    assert "Rhannu gwybodaeth" in page and "Esgeulustod" in page
