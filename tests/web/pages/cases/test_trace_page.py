"""The trace page of a review that has been moved to a newer version of the diagrams."""

from __future__ import annotations

import html

from flask.testing import FlaskClient

from cprflow.services import modeling
from tests.scenarios.cpr import at, opened
from tests.web.pages.cases.world import sign_in, started_review

BPMN = "processes/child_practice_review.bpmn"


def test_the_trace_of_a_migrated_review_shows_the_move_and_its_reason(client: FlaskClient, url: str) -> None:
    review = started_review(url)
    with opened(url) as db:
        text = modeling.version_files(db, 1)[BPMN]
        edited = {
            BPMN: text.replace('action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P5W"')
        }
        v2 = modeling.deploy_edits(db, edited, actor="owner", now=at("2026-01-06")).version_id
        modeling.migrate_instance(
            db, review.id, v2, reason="longer action plan period", actor="owner", now=at("2026-01-06")
        )

    sign_in(client, "auditor")
    page = client.get(f"/reviews/{review.id}/trace")

    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert f"Moved from version 1 to version {v2}" in shown and "longer action plan period" in shown
    assert '<h1 class="govuk-heading-l">Trace of CPR-2026-017</h1>' in shown  # as the register names it
    assert client.get(f"/reviews/{review.id}/trace.csv").status_code == 200
