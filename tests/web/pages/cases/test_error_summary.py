"""The GOV.UK error summary sits at the top of the page, before its heading, on a task's form and on a
process's start form: each problem a link to its field."""

from __future__ import annotations

import html

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.web.pages.cases.world import csrf, sign_in


def _summary_before_heading(page: str) -> None:
    summary, heading = page.find('class="govuk-error-summary"'), page.find("<h1")
    assert -1 < summary < heading, (summary, heading)
    assert page.count('class="govuk-error-summary"') == 1


def test_the_task_page_opens_with_the_error_summary(client: FlaskClient, case_db: Database, url: str) -> None:
    review = cpr.Review.start(url)
    [task] = services.list_tasks(case_db, instance_id=review.id)
    sign_in(client, "bu.officer")
    link = f"/tasks/{task.id}"
    refused = client.post(
        link, data={"csrf_token": csrf(client.get(link).text), "_action": "complete", "/referring_agency": ""}
    )
    page = html.unescape(refused.text)
    assert refused.status_code == 422
    _summary_before_heading(page)
    assert '<a href="#f-referring_agency">Enter referring agency</a>' in page


def test_the_start_form_opens_with_the_error_summary(client: FlaskClient) -> None:
    sign_in(client, "bu.officer")
    url = "/reviews/start/child_practice_review"
    page = html.unescape(client.post(url, data={"csrf_token": csrf(client.get(url).text)}).text)
    _summary_before_heading(page)
