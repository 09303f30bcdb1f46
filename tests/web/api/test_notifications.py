"""The notification endpoints, role by role: everyone keeps their own email settings; only admins
see failed and in-doubt sends and retry them (the retry is an event)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from cprflow.db.database import Database
from cprflow.db.models import OutboxMessage
from cprflow.features import notifications
from tests.web.conftest import USERS, now

Call = Callable[..., Any]


def _failed(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.connection()
            .execute(
                insert(OutboxMessage.__table__).returning(OutboxMessage.__table__.c.id),
                {
                    "instance_id": None,
                    "task_id": None,
                    "kind": "event",
                    "template": "referral_received",
                    "recipient": "manager",
                    "address": "manager@example.wales",
                    "language": "en",
                    "subject": "s",
                    "body": "b",
                    "message_id": "<m1@example.wales>",
                    "status": "failed",
                    "attempts": 5,
                    "next_attempt_at": None,
                    "last_error": "SMTP 550",
                    "created_at": now() - timedelta(days=1),
                },
            )
            .scalar_one()
        )


@pytest.mark.parametrize("who", sorted(USERS))
def test_the_admin_view_of_failed_sends_by_role(call: Call, web_db: Database, who: str) -> None:
    outbox_id = _failed(web_db)
    admin = "admin" in USERS[who][0]
    listed = call("GET", "/api/admin/notifications", who, 200 if admin else 403)
    retried = call("POST", f"/api/admin/notifications/{outbox_id}/retry", who, 200 if admin else 403)
    if admin:
        assert [(i["id"], i["status"], i["last_error"]) for i in listed["items"]] == [(outbox_id, "failed", "SMTP 550")]
        assert retried["status"] == "pending"
        assert call("GET", "/api/admin/notifications", who, 200)["items"] == []
        call("POST", f"/api/admin/notifications/{outbox_id}/retry", who, 409)  # pending now: nothing to retry
        call("POST", "/api/admin/notifications/999999/retry", who, 404)
        call("POST", "/api/admin/notifications/%C2%B2/retry", who, 404)  # a digit, but not one of ours
    else:
        assert [v.status for v in notifications.problems(web_db, now=now())] == ["failed"]  # nothing changed


@pytest.mark.parametrize("who", sorted(USERS))
def test_everyone_keeps_their_own_email_settings(call: Call, web_db: Database, who: str) -> None:
    assert call("GET", "/api/me/notification-settings", who, 200) == {
        "username": who,
        "email": None,
        "daily_digest": False,
    }
    body = {"email": f"{who}@example.wales", "daily_digest": True}
    assert call("PUT", "/api/me/notification-settings", who, 200, json=body) == {"username": who, **body}
    assert notifications.get_setting(web_db, who) == notifications.SettingView(who, f"{who}@example.wales", True)


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"email": "not an address", "daily_digest": False}, "/email"),
        ({"email": "a@b.c"}, "/daily_digest"),
    ],
)
def test_bad_email_settings_change_nothing(call: Call, web_db: Database, body: dict[str, Any], pointer: str) -> None:
    refused = call("PUT", "/api/me/notification-settings", "intake", 422, json=body)
    assert pointer in refused["error"]["fields"]
    assert notifications.get_setting(web_db, "intake") == notifications.SettingView("intake", None, False)
