"""Notification pages: everyone sets their email; admins see failed and in-doubt emails and send them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import insert, select

from cprflow.db.database import Database
from cprflow.db.models import Event, OutboxMessage
from cprflow.features import notifications
from cprflow.services import users
from tests.web.pages.test_tasks import PASSWORD, client, csrf, db, sign_in  # noqa: F401 - fixtures

OUTBOX = OutboxMessage.__table__


def _row(db: Database, status: str, sending_at: datetime | None = None) -> int:  # noqa: F811
    with db.transaction() as session:
        return int(
            session.connection()
            .execute(
                insert(OUTBOX).returning(OUTBOX.c.id),
                {
                    "instance_id": None,
                    "task_id": None,
                    "kind": "event",
                    "template": "referral_received",
                    "recipient": "subgroup",
                    "address": "subgroup@example.wales",
                    "language": "en",
                    "subject": "s",
                    "body": "b",
                    "message_id": f"<{status}@example.wales>",
                    "status": status,
                    "attempts": 1,
                    "next_attempt_at": None,
                    "last_error": "SMTP 550" if status == "failed" else None,
                    "created_at": datetime.now(UTC) - timedelta(days=1),
                    "sending_at": sending_at,
                },
            )
            .scalar_one()
        )


def test_people_set_their_email_and_digest(client: FlaskClient, db: Database) -> None:  # noqa: F811
    sign_in(client, "bu")
    page = client.get("/settings/notifications")
    assert page.status_code == 200 and "Email settings" in page.text
    saved = client.post(
        "/settings/notifications",
        data={"email": "bu@example.wales", "daily_digest": "on", "csrf_token": csrf(page.text)},
    )
    assert saved.status_code == 302
    confirmed = client.get(saved.location).text
    assert "govuk-notification-banner--success" in confirmed and "Your email settings are saved." in confirmed
    assert notifications.get_setting(db, "bu") == notifications.SettingView("bu", "bu@example.wales", True)
    refused = client.post("/settings/notifications", data={"email": "bu at example", "csrf_token": csrf(page.text)})
    assert (
        refused.status_code == 422
        and "Enter an email address in the correct format, like name@example.com" in refused.text
    )
    assert notifications.get_setting(db, "bu") == notifications.SettingView("bu", "bu@example.wales", True)
    client.post("/language", data={"language": "cy", "next": "/settings/notifications", "csrf_token": csrf(page.text)})
    assert "Gosodiadau e-bost" in client.get("/settings/notifications").text


def test_admins_see_failed_and_in_doubt_emails_and_send_them_again(client: FlaskClient, db: Database) -> None:  # noqa: F811
    users.add_user(db, "admin", password=PASSWORD, roles=["admin"], now=datetime.now(UTC))
    failed = _row(db, "failed")
    doubt = _row(db, "sending", sending_at=datetime.now(UTC) - timedelta(hours=1))
    _row(db, "sent")
    sign_in(client, "admin")
    page = client.get("/admin/notifications")
    assert page.status_code == 200
    assert "Failed" in page.text and "In doubt" in page.text and "SMTP 550" in page.text
    assert f"/admin/notifications/{failed}/retry" in page.text and f"/admin/notifications/{doubt}/retry" in page.text
    assert client.post(f"/admin/notifications/{doubt}/retry").status_code == 400  # no CSRF token: refused
    response = client.post(f"/admin/notifications/{doubt}/retry", data={"csrf_token": csrf(page.text)})
    assert response.status_code == 302
    with db.transaction(write=False) as session:
        assert session.scalar(select(OUTBOX.c.status).where(OUTBOX.c.id == doubt)) == "pending"
        retried = session.scalars(select(Event).where(Event.kind == "notification_retried")).all()
    assert [(e.actor, e.detail["outbox_id"], e.detail["from"]) for e in retried] == [("admin", doubt, "in_doubt")]
    assert f"/admin/notifications/{doubt}/retry" not in client.get("/admin/notifications").text


def test_the_admin_page_is_not_there_for_others(client: FlaskClient, db: Database) -> None:  # noqa: F811
    failed = _row(db, "failed")
    sign_in(client, "bu")
    assert client.get("/admin/notifications").status_code == 404
    token = csrf(client.get("/settings/notifications").text)
    assert client.post(f"/admin/notifications/{failed}/retry", data={"csrf_token": token}).status_code == 404
    assert [v.status for v in notifications.problems(db, now=datetime.now(UTC))] == ["failed"]
