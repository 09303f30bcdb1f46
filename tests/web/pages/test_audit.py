"""The audit pages: the trace of a review with its marked diagram and exports, the timescale report
drawn on the server, both in Welsh, and neither shown to someone who may not read the case."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.web.api.test_audit import _csrf, _sign_in
from tests.web.conftest import CASE, in_review, now


@pytest.fixture
def case(web_db: Database) -> services.InstanceView:
    return in_review(web_db)


def test_trace_page_shows_the_marked_diagram_without_inline_script(
    client: FlaskClient, web_db: Database, case: services.InstanceView
) -> None:
    _sign_in(client, "auditor")
    response = client.get(f"/reviews/{case.id}/trace")
    assert response.status_code == 200
    html = response.text
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self': no inline script
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    marks = json.loads(
        re.search(r'<script type="application/json" id="trace-markers">(.*?)</script>', html, re.S).group(1)
    )  # type: ignore[union-attr]
    assert marks["markers"]["record_case"] == "completed" and marks["markers"]["manager_approval"] == "active"
    assert "bpmn-navigated-viewer.production.min.js" in html and "/static/trace.js" in html
    diagram = client.get(f"/reviews/{case.id}/trace/diagram.bpmn")
    assert diagram.status_code == 200 and b'id="manager_approval"' in diagram.data
    script = client.get("/static/trace.js")
    assert script.status_code == 200 and b"addMarker" in script.data
    script.close()
    reads = [e for e in services.list_events(web_db, case.id) if e.kind == "case_read"]
    assert [(e.actor, e.detail["what"]) for e in reads] == [("auditor", "trace page"), ("auditor", "trace diagram")]


def test_trace_page_filters_and_exports(client: FlaskClient, web_db: Database, case: services.InstanceView) -> None:
    _sign_in(client, "intake")
    page = client.get(f"/reviews/{case.id}/trace?kind=task_completed")
    assert page.status_code == 200
    kinds = re.findall(r'<tr class="govuk-table__row event-(\w+)"', page.text)  # the timeline's rows, one per event
    assert kinds == ["task_completed"]
    exported = client.get(f"/reviews/{case.id}/trace.json?kind=task_completed")
    assert exported.headers["Content-Disposition"].endswith(f"review-{case.id}-trace.json")
    assert [e["kind"] for e in exported.get_json()["timeline"]] == ["task_completed"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/reviews/{case.id}/trace.csv").text)))
    assert rows[0]["kind"] == "started" and rows[1]["kind"] == "task_completed"
    recorded = json.loads(rows[1]["data"])  # less what the system recorded itself (who, when)
    assert {k: v for k, v in recorded.items() if k not in services.KNOWN_FACTS} == CASE
    assert client.get(f"/reviews/{case.id}/trace?until=not-a-date").status_code == 422


def test_trace_pages_are_not_found_for_who_may_not_read_the_case(
    client: FlaskClient, case: services.InstanceView
) -> None:
    _sign_in(client, "police")
    for url in (f"/reviews/{case.id}/trace", f"/reviews/{case.id}/trace.csv", f"/reviews/{case.id}/trace/diagram.bpmn"):
        assert client.get(url).status_code == 404


def test_signed_out_trace_goes_to_sign_in(client: FlaskClient, case: services.InstanceView) -> None:
    response = client.get(f"/reviews/{case.id}/trace")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_timescale_page_draws_server_side_svg_and_exports_csv(client: FlaskClient, web_db: Database) -> None:
    services.start_instance(web_db, "sample_case", {}, actor="intake", now=now())
    _sign_in(client, "auditor")
    page = client.get("/reports/timescales?as_of=2026-06-01")
    assert page.status_code == 200
    main = page.text.split('id="main-content"')[1].split("</main>")[0]
    assert page.text.count("<svg") == 2 and "<script" not in main  # the charts are drawn on the server
    groups = client.get("/reports/timescales.csv?table=groups&as_of=2026-06-01")
    assert groups.mimetype == "text/csv" and groups.text.splitlines()[0].startswith("board,year,reviews")
    per_review = client.get("/reports/timescales.csv?as_of=2026-06-01")
    assert per_review.text.splitlines()[0].startswith("instance_id,board,year")
    assert client.get("/reports/timescales?as_of=June").status_code == 422


def test_trace_and_report_pages_read_in_welsh(client: FlaskClient, case: services.InstanceView) -> None:
    _sign_in(client, "auditor")
    client.post("/language", data={"csrf_token": _csrf(client), "language": "cy", "next": "/tasks"})
    trace_page = client.get(f"/reviews/{case.id}/trace").text
    assert f"Olrhain Adolygiad #{case.id}" in trace_page and "Llinell amser" in trace_page  # it has no reference
    assert "Amserlenni statudol" in client.get("/reports/timescales").text


def test_the_trace_dates_are_typed_as_day_month_and_year_and_a_wrong_one_is_said_beside_it(
    client: FlaskClient, case: services.InstanceView
) -> None:
    """GOV.UK date inputs, not the browser's picker (which reads mm/dd/yyyy in a US-English browser):
    the day, month and year are sent under one name and joined; a date that does not exist is said
    beside its boxes, with what was typed kept, and the exports carry only the filters that worked."""
    _sign_in(client, "auditor")
    today = now().date()
    typed = f"since={today.day}&since={today.month}&since={today.year}"
    page = client.get(f"/reviews/{case.id}/trace?{typed}")
    assert page.status_code == 200
    assert len(re.findall(r'<tr class="govuk-table__row event-', page.text)) > 0  # today's events are kept
    assert f'href="/reviews/{case.id}/trace.json?since={today.isoformat()}"' in page.text
    assert (
        f'id="f-since" name="since" type="text" inputmode="numeric" autocomplete="off" value="{today.day}"' in page.text
    )

    later = client.get(f"/reviews/{case.id}/trace?since=1&since=1&since={today.year + 1}")
    assert not re.findall(r'<tr class="govuk-table__row event-', later.text)  # nothing happened after it

    wrong = client.get(f"/reviews/{case.id}/trace?since=31&since=2&since=2026&kind=task_completed")
    assert wrong.status_code == 422
    # The summary links to the day box.
    assert '<a href="#f-since">The ‘From’ date must be a real date</a>' in wrong.text
    assert '<p class="govuk-error-message" id="f-since-error">' in wrong.text and 'value="31"' in wrong.text
    assert re.findall(r'<tr class="govuk-table__row event-(\w+)"', wrong.text) == ["task_completed"]
    assert f'href="/reviews/{case.id}/trace.csv?kind=task_completed"' in wrong.text
    assert wrong.text.split("<title>")[1].startswith("Error:")

    backwards = client.get(f"/reviews/{case.id}/trace?since=2026-03-02&until=2026-03-01")
    assert backwards.status_code == 422
    assert "The ‘To’ date must be the same as or after the ‘From’ date" in html.unescape(backwards.text)


def test_the_timescales_as_at_date_is_typed_as_day_month_and_year(client: FlaskClient) -> None:
    _sign_in(client, "auditor")
    page = client.get("/reports/timescales?as_of=1&as_of=6&as_of=2026")
    assert page.status_code == 200 and "as_of=2026-06-01" in page.text  # the downloads are as at that date
    wrong = client.get("/reports/timescales?as_of=30&as_of=2&as_of=2026")
    assert wrong.status_code == 422 and '<a href="#f-as_of">The ‘As at’ date must be a real date</a>' in wrong.text
    assert 'value="30"' in wrong.text
