"""Signing in and out, and the language a person reads the pages in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cprflow import services
from cprflow.core.errors import Unauthenticated
from cprflow.services import users
from cprflow.web.auth import begin_page_session, check_password, end_page_session
from cprflow.web.common import db, optional_user, safe_next

bp = Blueprint("account", __name__)


@bp.get("/")
def home() -> Any:
    """Somewhere useful for everyone: their tasks, else the Board Chair's overview, else the process
    design for a process owner (who reads no case), else the register."""
    user = optional_user()
    if user is None:
        return redirect(url_for("account.login"))
    if services.list_tasks(db(), actor=user.actor):
        return redirect(url_for("tasks.my_tasks"))
    if "board_chair" in user.roles:
        return redirect(url_for("reviews.overview"))
    return redirect(url_for("modeler.index" if "process_owner" in user.roles else "reviews.register"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method != "POST":  # GET, and HEAD with whatever body it carries: never a sign-in
        return render_template("login.html", errors={})
    username, password = request.form.get("username", ""), request.form.get("password", "")
    # An empty field is named (422) without trying to sign in, so it counts as no failed attempt.
    missing = {
        name: message
        for name, value, message in (
            ("username", username.strip(), _("Enter your username")),
            ("password", password, _("Enter your password")),
        )
        if not value
    }
    if missing:
        return render_template("login.html", errors=missing, username=username), 422
    try:
        user = check_password(username, password)
    except Unauthenticated:
        # Which of the two was wrong is not said; the summary takes the reader to the first field.
        wrong = {"username": _("Wrong username or password.")}
        return render_template("login.html", errors=wrong, username=username), 401
    begin_page_session(user)
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Any:
    end_page_session()
    return redirect(url_for("account.login"))


@bp.post("/language")
def language() -> Any:
    chosen = request.form.get("language", "en")
    if chosen in users.LANGUAGES:
        session["lang"] = chosen
        user = optional_user()
        if user is not None:
            users.set_language(db(), user.id, chosen)
    return redirect(safe_next(request.form.get("next")))
