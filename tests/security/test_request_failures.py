"""Requests that used to answer 500: an "Add another" button value naming no list (422, naming the
field), and a write that cannot get the database's lock in time (503 with Retry-After)."""

from __future__ import annotations

import sqlite3

import pytest
from flask.testing import FlaskClient

from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.web import create_app
from tests.web.pages.test_tasks import PASSWORD, REFERRAL, client, csrf, db, sign_in, start_review, task_link  # noqa: F401


@pytest.mark.parametrize("value", ["foo", "/", "/child_reference", "/agencies_involved/x/y", "/agencies_involved/9"])
def test_an_add_button_naming_no_list_is_refused_at_the_field(
    client: FlaskClient,  # noqa: F811
    db: Database,  # noqa: F811
    value: str,
) -> None:
    start_review(db)
    sign_in(client, "bu")
    link = task_link(client.get("/tasks").text, "Record the referral")
    response = client.post(link, data={**REFERRAL, "csrf_token": csrf(client.get(link).text), "_add": value})
    assert response.status_code == 422
    assert "_add" in response.text and "does not name a list" in response.text
    fine = client.post(link, data={**REFERRAL, "csrf_token": csrf(client.get(link).text), "_add": "/agencies_involved"})
    assert fine.status_code == 200 and 'name="/agencies_involved/2/name"' in fine.text


def test_a_write_that_cannot_get_the_lock_in_time_answers_503_with_retry_after(
    db: Database,  # noqa: F811
) -> None:
    impatient = Database(db.url, lock_timeout=0.2)
    app = create_app(Settings(database_url=db.url, secret_key="pages-" + "x" * 30), db=impatient)
    holder = sqlite3.connect(db.url.split("///", 1)[1], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock longer than the timeout
    try:
        response = app.test_client().post("/api/auth/token", json={"username": "bu", "password": PASSWORD})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.dispose()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "database_busy"
