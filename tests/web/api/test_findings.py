"""The findings repository over HTTP: who may read and export it (table-driven from the deployed
permissions data), the API's answers against its OpenAPI document, and the staff pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from cprflow import services
from cprflow.core import operators
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from tests.conftest import ROOT, T0
from tests.web.conftest import USERS, started

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
