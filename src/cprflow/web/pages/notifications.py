"""Notification pages: each person's email settings, and the admins' list of failed and in-doubt
emails with a retry button. ."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cprflow.config import MailSettings
from cprflow.core.errors import Conflict, InvalidData, NotFound
from cprflow.features import notifications
from cprflow.web.common import db, now, signed_in

bp = Blueprint("notifications", __name__)


@bp.route("/settings/notifications", methods=["GET", "POST"])
def notification_settings() -> Any:
    user = signed_in()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        email = (request.form.get("email") or "").strip() or None
        try:
            notifications.set_setting(
                db(), user.username, email=email, daily_digest=request.form.get("daily_digest") == "on"
            )
        except InvalidData as err:
            errors = err.fields
        else:
            flash({"heading": _("Your email settings are saved.")}, "success")
            return redirect(url_for("notifications.notification_settings"))
    setting = notifications.get_setting(db(), user.username)
    return render_template(
        "notification_settings.html", setting=setting, errors=errors, form=request.form if errors else None
    ), (422 if errors else 200)


def _admin() -> Any:
    user = signed_in()
    if not user.actor.is_admin:
        raise NotFound("not an admin page for you")
    return user


@bp.get("/admin/notifications")
def notifications_admin() -> Any:
    _admin()
    found = notifications.problems(db(), now=now(), settings=MailSettings.from_env())
    labels = {"failed": _("Failed"), "in_doubt": _("In doubt")}
    return render_template("notifications_admin.html", items=found, labels=labels)


@bp.post("/admin/notifications/<int:outbox_id>/retry")
def notifications_retry(outbox_id: int) -> Any:
    user = _admin()
    try:
        notifications.retry(db(), outbox_id, actor=user.username, now=now(), settings=MailSettings.from_env())
    except Conflict:
        flash(_("That email is no longer failed or in doubt."))
    else:
        flash({"heading": _("The email will be sent again.")}, "success")
    return redirect(url_for("notifications.notifications_admin"))
