"""The findings pages: searching by theme with trends drawn as escaped SVG, starting a forum on a
recurring theme, an anonymised and recorded export, and the pages in Welsh."""

from __future__ import annotations

import csv
import io
import re

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from cprflow.features import findings
from tests.web.api.test_findings import BOARDS, VARIANTS, deploy, seed
from tests.web.conftest import password


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
    assert forum.data["forum_title"] == "Information sharing (2026)"  # the start form, answered from the theme
    assert "Information sharing" in forum.data["forum_purpose"]
    assert forum.data["board_area"] == ", ".join(sorted(BOARDS))


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
    # the review-type filter names each type in the reader's language, not by its stored value
    types = page.split('id="f-review_type"')[1].split("</select>")[0]
    assert '<option value="concise">Cryno</option>' in types and ">concise<" not in types
