"""Notification endpoints: each person's email settings, and the admins' view of failed sends.

Registered on the API blueprint (imported at the end of web/api.py), so the OpenAPI document,
the contract tests and the token checks cover them like every other route.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint

from cprflow.config import MailSettings
from cprflow.core.errors import NotFound
from cprflow.features import notifications
from cprflow.web import schemas
from cprflow.web.auth import current_user, require_role
from cprflow.web.common import MAX_ID, body, db, dump, now
from cprflow.web.openapi import route

bp = Blueprint("notifications", __name__)


@route(
    bp,
    "/me/notification-settings",
    "GET",
    "Your email address and daily-digest choice",
    response=schemas.NotificationSettingOut,
)
def my_notification_settings() -> Any:
    return dump(schemas.NotificationSettingOut, notifications.get_setting(db(), current_user().username))


@route(
    bp,
    "/me/notification-settings",
    "PUT",
    "Set your email address and whether you get one daily digest",
    body=schemas.NotificationSettingIn,
    response=schemas.NotificationSettingOut,
)
def set_my_notification_settings() -> Any:
    user = current_user()  # who is asking comes before what they ask
    given = body(schemas.NotificationSettingIn)
    view = notifications.set_setting(db(), user.username, email=given["email"], daily_digest=given["daily_digest"])
    return dump(schemas.NotificationSettingOut, view)


@route(
    bp, "/admin/notifications", "GET", "Failed and in-doubt emails (admins)", response=schemas.OutboxList, errors=(403,)
)
def failed_notifications() -> Any:
    require_role(current_user(), "admin")
    return dump(
        schemas.OutboxList, {"items": notifications.problems(db(), now=now(), settings=MailSettings.from_env())}
    )


@route(
    bp,
    "/admin/notifications/<outbox_id>/retry",
    "POST",
    "Send a failed or in-doubt email again (admins; recorded as an event)",
    response=schemas.OutboxOut,
    errors=(403, 404, 409),
)
def retry_notification(outbox_id: str) -> Any:
    user = current_user()  # the token first: an unknown id must not answer before it
    require_role(user, "admin")
    if not re.fullmatch(r"[0-9]{1,10}", outbox_id) or not 1 <= int(outbox_id) <= MAX_ID:
        raise NotFound(f"notification {outbox_id!r} not found")
    view = notifications.retry(db(), int(outbox_id), actor=user.username, now=now(), settings=MailSettings.from_env())
    return dump(schemas.OutboxOut, view)
