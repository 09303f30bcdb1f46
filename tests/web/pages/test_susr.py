"""A SUSR through the staff pages: the Business Unit records the referral and the review page says the
Case Review Group acts next; the Case Review Group finds its task and its form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import users
from cprflow.web import create_app
from tests.conftest import ROOT, T0
from tests.scenarios import cpr

PASSWORD = "a long enough password"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pages.db'}")
    database.upgrade()
    services.deploy(database, diagram_set.read_directories(ROOT / "processes", ROOT / "forms"), actor="owner", now=T0)
    for username, role in (("bu", "business_unit"), ("crg", "review_subgroup")):
        users.add_user(database, username, password=PASSWORD, roles=[role], now=T0)
    yield database
    database.dispose()


@pytest.fixture
def client(db: Database) -> FlaskClient:
    return create_app(Settings(database_url=db.url, secret_key="pages-" + "x" * 30), db=db).test_client()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def sign_in(client: FlaskClient, username: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client.get("/login").text)}
    )
    assert response.status_code == 302


def task_link(listing: str, name: str) -> str:
    return re.search(rf'<a [^>]*href="(/tasks/[^"]+)">{re.escape(name)}</a>', listing).group(1)  # type: ignore[union-attr]


def test_susr_referral_through_the_pages(client: FlaskClient, db: Database) -> None:
    review = services.start_instance(
        db, cpr.SUSR, cpr.start_data("2026-01-05", cpr.SUSR), actor="bu", now=datetime.now(UTC)
    ).id
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    page = client.get(link).text
    assert "Domestic homicide review criteria" in page  # the criteria, one review covering them all
    form = {
        "/subject_reference": "SUSR-P-1",
        "/board_area": "Gwent",
        "/referral_date": "2026-01-05",
        "/event_date": "2025-12-28",
        "/criteria_met": "domestic_homicide_review",
        "/agencies_involved/0/name": "police",
        "csrf_token": csrf(page),
        "_action": "complete",
    }
    assert client.post(link, data=form).status_code == 302
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["susr_case_review_group"]
    page = client.get(f"/reviews/{review}").text
    assert "Case Review Group" in page
    sign_in(client, "crg")
    page = client.get(task_link(client.get("/tasks").text, "Discuss the referral")).text
    assert "Undertake a SUSR" in page


def test_the_board_chair_decides_on_a_susr_with_the_referral_and_discussion_in_view(
    client: FlaskClient, db: Database
) -> None:
    from tests.scenarios import test_susr

    users.add_user(db, "chair", password=PASSWORD, roles=["board_chair"], now=T0)
    review = services.start_instance(
        db, cpr.SUSR, cpr.start_data("2026-01-05", cpr.SUSR), actor="bu", now=datetime.now(UTC)
    ).id
    referral = {**test_susr.susr_referral(), "referral_summary": "Found at home after a reported assault."}
    crg = {**test_susr.CRG, "discussion_notes": "The adult practice review criteria are met."}
    for data in (referral, crg):
        task = services.list_tasks(db, instance_id=review)[0]
        services.complete_task(db, task.id, data, actor="bu", now=datetime.now(UTC))
    sign_in(client, "chair")
    link = task_link(client.get("/tasks").text, "Decide whether to undertake a SUSR")
    page = client.get(link).text
    assert "The referral" in page and "Found at home after a reported assault." in page and "SUSR-2026-004" in page
    assert "The Case Review Group&#39;s discussion" in page and "The adult practice review criteria are met." in page
    form = {
        "/susr_decision": "undertake_susr",
        "/decision_rationale": "The criteria are met.",
        "csrf_token": csrf(page),
        "_action": "complete",
    }
    assert client.post(link, data=form).location.endswith(f"{link}/check")  # checked before it counts
    done = client.post(f"{link}/check", data={"csrf_token": csrf(page)}, follow_redirects=True).text
    assert "What happens next: if the Board undertakes a SUSR, the Business Unit notifies Welsh Government" in done
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["susr_notify_welsh_government"]
