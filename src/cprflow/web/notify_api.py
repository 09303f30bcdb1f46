"""Notification endpoints: each person's email settings, and the admins' view of failed sends.

Registered on the API blueprint (imported at the end of web/api.py), so the OpenAPI document,
the contract tests and the token checks cover them like every other route.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate

from cprflow import notify
from cprflow.config import MailSettings
from cprflow.errors import NotFound
from cprflow.web.api import MAX_ID, _body, _db, _dump, _now, bp
from cprflow.web.auth import current_user, require_role
from cprflow.web.openapi import route


class NotificationSettingIn(Schema):
    email = fields.String(required=True, allow_none=True, validate=validate.Length(max=320))
    daily_digest = fields.Boolean(required=True)


class NotificationSettingOut(Schema):
    username = fields.String(required=True)
    email = fields.String(allow_none=True)
    daily_digest = fields.Boolean(required=True)


class OutboxOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    template = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "failed or in_doubt (left sending by a stopped worker)"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    sending_at = fields.AwareDateTime(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    message_id = fields.String(required=True)


class OutboxList(Schema):
    items = fields.List(fields.Nested(OutboxOut), required=True)


@route(bp, "/me/notification-settings", "GET", "Your email address and daily-digest choice",
       response=NotificationSettingOut)
def my_notification_settings() -> Any:
    return _dump(NotificationSettingOut, notify.get_setting(_db(), current_user().username))


@route(bp, "/me/notification-settings", "PUT", "Set your email address and whether you get one daily digest",
       body=NotificationSettingIn, response=NotificationSettingOut)
def set_my_notification_settings() -> Any:
    user = current_user()  # who is asking comes before what they ask
    given = _body(NotificationSettingIn)
    view = notify.set_setting(_db(), user.username, email=given["email"], daily_digest=given["daily_digest"])
    return _dump(NotificationSettingOut, view)


@route(bp, "/admin/notifications", "GET", "Failed and in-doubt emails (admins)", response=OutboxList, errors=(403,))
def failed_notifications() -> Any:
    require_role(current_user(), "admin")
    return _dump(OutboxList, {"items": notify.problems(_db(), now=_now(), settings=MailSettings.from_env())})


@route(bp, "/admin/notifications/<outbox_id>/retry", "POST",
       "Send a failed or in-doubt email again (admins; recorded as an event)", response=OutboxOut,
       errors=(403, 404, 409))
def retry_notification(outbox_id: str) -> Any:
    user = current_user()  # the token first: an unknown id must not answer before it
    require_role(user, "admin")
    if not re.fullmatch(r"[0-9]{1,10}", outbox_id) or not 1 <= int(outbox_id) <= MAX_ID:
        raise NotFound(f"notification {outbox_id!r} not found")
    view = notify.retry(_db(), int(outbox_id), actor=user.username, now=_now(), settings=MailSettings.from_env())
    return _dump(OutboxOut, view)
