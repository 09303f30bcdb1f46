"""HEAD is GET without a body: it never reaches what a POST does (sign in, save a draft, complete a
task, change settings), whatever body it carries, and never sets a session cookie."""

from __future__ import annotations

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from tests.web.conftest import db_state
from tests.web.pages.test_tasks import PASSWORD, REFERRAL, client, csrf, db, sign_in, start_review, task_link  # noqa: F401


def test_head_on_the_sign_in_page_signs_no_one_in_and_sets_no_cookie(client: FlaskClient) -> None:  # noqa: F811
    token = csrf(client.get("/login").text)
    fresh = client.application.test_client()
    response = fresh.head("/login", data={"username": "bu", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert fresh.get("/tasks").status_code == 302  # not signed in


def test_head_with_a_form_body_changes_nothing_on_any_page_that_takes_posts(
    client: FlaskClient,  # noqa: F811
    db: Database,  # noqa: F811
) -> None:
    review = start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    token = csrf(client.get(link).text)
    rules = [
        r
        for r in client.application.url_map.iter_rules()
        if "POST" in (r.methods or ()) and "GET" in (r.methods or ()) and not r.rule.startswith("/api/")
    ]
    assert {r.rule for r in rules} >= {"/login", "/tasks/<task_id>", "/settings/notifications"}
    before = db_state(db)
    for action in ("draft", "complete"):
        response = client.head(link, data={**REFERRAL, "csrf_token": token, "_action": action})
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
    client.head("/settings/notifications", data={"csrf_token": token, "digest": "daily"})
    assert db_state(db) == before  # no draft, no completion, no event
    assert [t.bpmn_id for t in services.list_tasks(db, instance_id=review)] == ["record_referral"]
