"""Staff pages: sign in, my tasks, a task's form, a review. Server-rendered; no JavaScript needed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cprflow import access, services, users
from cprflow.errors import Conflict, InvalidData, NotFound, Unauthenticated
from cprflow.repository import Database
from cprflow.users import UserView
from cprflow.web import casefiles, formrender
from cprflow.web.auth import current_user

bp = Blueprint("pages", __name__)


def _db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


def _user() -> UserView | None:
    try:
        return current_user(pages=True)
    except Unauthenticated:
        return None


def _signed_in() -> UserView:
    user = _user()
    if user is None:
        raise _LoginRequired
    return user


class _LoginRequired(Exception):
    pass


@bp.errorhandler(_LoginRequired)
def _to_login(_: Exception) -> Any:
    return redirect(url_for("pages.login", next=request.full_path))


@bp.errorhandler(NotFound)
def _not_found(err: NotFound) -> Any:
    return render_template("message.html", title=_("Not found"), message=_("There is nothing here you may see.")), 404


def _safe_next(target: str | None) -> str:
    parsed = urlparse(target or "")
    return (
        target
        if target and not parsed.scheme and not parsed.netloc and target.startswith("/")
        else url_for("pages.my_tasks")
    )


@bp.get("/")
def home() -> Any:
    return redirect(url_for("pages.my_tasks" if _user() else "pages.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "")
    try:
        settings = current_app.config["CPRFLOW"]
        user = users.authenticate(
            _db(),
            username,
            request.form.get("password", ""),
            lockout_attempts=settings.lockout_attempts,
            lockout_minutes=settings.lockout_minutes,
        )
    except Unauthenticated:
        return render_template("login.html", error=_("Wrong username or password."), username=username), 401
    session.clear()
    session.update(uid=user.id, tv=user.token_version, lang=user.language)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("pages.login"))


@bp.post("/language")
def language() -> Any:
    chosen = request.form.get("language", "en")
    if chosen in users.LANGUAGES:
        session["lang"] = chosen
        user = _user()
        if user is not None:
            users.set_language(_db(), user.id, chosen)
    return redirect(_safe_next(request.form.get("next")))


def _workable(user: UserView, tasks: list[services.TaskView]) -> list[services.TaskView]:
    return [
        t
        for t in tasks
        if access.can_work(user.actor, services.permissions(_db(), t.version_id or 0), t.lane, t.assignee)
    ]


@bp.get("/tasks")
def my_tasks() -> Any:
    user = _signed_in()
    everything = _workable(user, services.list_tasks(_db()))
    lane, review = request.args.get("lane") or None, request.args.get("review") or None
    shown = [
        t for t in everything if (lane is None or t.lane == lane) and (review is None or str(t.instance_id) == review)
    ]
    return render_template(
        "tasks.html",
        tasks=shown,
        now=_now(),
        selected_lane=lane,
        selected_review=review,
        lanes=sorted({t.lane for t in everything if t.lane}),
        reviews=sorted({str(t.instance_id) for t in everything}, key=int),
    )


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
def task(task_id: str) -> Any:
    user = _signed_in()
    if "\x00" in task_id:  # no task has one, and PostgreSQL refuses to be asked
        raise NotFound(task_id)
    # A post is usually a completion, which loads the workflow itself: do not load it twice.
    detail = services.get_task(_db(), task_id, with_values=request.method == "GET")
    perms = services.permissions(_db(), detail.task.version_id or 0)
    if not access.can_work(user.actor, perms, detail.task.lane, detail.task.assignee):
        raise NotFound(task_id)
    lang = session.get("lang", "en")
    errors: dict[str, list[str]] = {}
    data = detail.data
    if request.method == "GET":
        services.record_read(_db(), detail.task.instance_id, actor=user.username, now=_now(), what=f"task {task_id}")
    else:
        action = request.form.get("_action")
        try:  # files first, all or none: a refused file is named at its field and nothing is stored
            files, refused = (
                casefiles.posted_documents(
                    user, detail.task.instance_id, detail.schema, detail.task.assignee, request.files, request.form
                ),
                None,
            )
        except InvalidData as err:
            files, refused = {}, err
        data = formrender.parse_submission(detail.schema, request.form, documents=files)
        try:
            if refused is not None:
                raise refused
            if request.form.get("_add"):
                data = formrender.add_row(data, request.form["_add"])
            elif action == "draft":
                services.save_draft(_db(), task_id, data, actor=user.username, now=_now())
                flash(_("Draft saved."))
                return redirect(url_for("pages.task", task_id=task_id))
            elif action == "complete":
                view = services.complete_task(
                    _db(),
                    task_id,
                    data,
                    actor=user.username,
                    now=_now(),
                    step_seconds=current_app.config["CPRFLOW"].step_seconds,
                )
                flash(_("Done: %(name)s.", name=detail.task.name))
                readable = access.can_read_case(user.actor, perms, view.data)
                return redirect(url_for("pages.review", instance_id=view.id) if readable else url_for("pages.my_tasks"))
        except InvalidData as err:
            errors = err.fields or {"/": [err.message]}
        except Conflict as err:
            flash(err.message)
            return redirect(url_for("pages.my_tasks"))
    if request.method == "POST":  # shown again (errors, a new row): read-only fields need stored values
        detail = services.get_task(_db(), task_id)
    form_html = formrender.render_form(detail.schema, detail.ui_schema, data, errors, lang, stored=detail.data)
    return render_template("task.html", task=detail.task, form_html=form_html, now=_now()), (422 if errors else 200)


def _timescales(data: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """Every ``*_due`` date the diagrams keep, with the days left until it."""
    rows = []
    for key, value in sorted(data.items()):
        if not key.endswith("_due") or not isinstance(value, str):
            continue
        try:
            due = date.fromisoformat(value[:10])
        except ValueError:
            continue
        rows.append(
            {
                "label": key.removesuffix("_due").replace("_", " ").capitalize(),
                "due": due.isoformat(),
                "days_left": (due - today).days,
            }
        )
    return rows


@bp.get("/reviews/<int:instance_id>")
def review(instance_id: int) -> Any:
    user = _signed_in()
    if instance_id > 2**31 - 1:  # beyond any row id (and the database's integer)
        raise NotFound(str(instance_id))
    view = services.get_instance(_db(), instance_id)
    if not access.can_read_case(user.actor, services.permissions(_db(), view.version_id), view.data):
        raise NotFound(str(instance_id))
    services.record_read(_db(), instance_id, actor=user.username, now=_now(), what="review page")
    status_labels = {
        "running": _("In progress"),
        "waiting": _("Waiting"),
        "completed": _("Completed"),
        "error": _("Needs an administrator"),
        "suspended": _("Suspended"),
        "terminated": _("Terminated"),
    }
    holds = view.data.get("holds") if isinstance(view.data.get("holds"), list) else []
    return render_template(
        "review.html",
        instance=view,
        status_label=status_labels.get(view.status, view.status),
        timescales=_timescales(view.data, _now().date()),
        holds=[h for h in holds if isinstance(h, dict)],
        documents=casefiles.latest_documents(instance_id),
        findings=casefiles.findings_of(view.data),
    )


from cprflow.web import notify_pages  # noqa: E402,F401 - email settings and failed sends, on this blueprint
