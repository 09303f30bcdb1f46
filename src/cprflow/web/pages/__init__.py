"""Staff pages, one blueprint per area: sign in, tasks, reviews, audit, findings, notifications and
the process owners' modeler. Server-rendered; JavaScript only where a pattern needs it."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, redirect, request, session, url_for
from flask_babel import gettext as _

from cprflow import services
from cprflow.core import access
from cprflow.diagrams.welsh import WelshNames
from cprflow.services.instances import case_actions
from cprflow.web import dates
from cprflow.web.common import LoginRequired, db, signed_in


def install(app: Flask) -> None:
    """What every page shares: a visitor who is not signed in is sent to sign in, then back."""

    @app.errorhandler(LoginRequired)
    def to_login(_: LoginRequired) -> Any:
        # The page asked for, with its query when it had one (full_path adds a bare "?" otherwise).
        asked = request.full_path if request.query_string else request.path
        return redirect(url_for("account.login", next=asked))

    # Dates as GOV.UK writes them, in the reader's language (cprflow.web.dates).
    app.add_template_filter(dates.govuk_date, "govuk_date")
    app.add_template_filter(dates.govuk_datetime, "govuk_datetime")
    app.add_template_filter(dates.parts, "date_parts")

    # Names from the diagrams, in Welsh on Welsh pages (their nameCy), else as drawn.
    @app.template_filter("task_name")
    def task_name(task: Any) -> str:
        return str(welsh_names(task.version_id).task(task.bpmn_id, task.name, session.get("lang", "en")))

    @app.template_filter("lane_name")
    def lane_name(lane: str | None, version_id: int | None = None) -> str:
        return welsh_names(version_id).lane(lane, session.get("lang", "en")) or ""

    app.add_template_global(holder_names, "holder_names")
    app.add_template_global(who_acts_next, "who_acts_next")
    app.add_template_global(may_work, "may_work")
    app.add_template_global(case_name, "case_name")
    app.add_template_global(holder_of, "holder_of")

    @app.template_filter("process_name")
    def process_name(process_id: str, english: str, version_id: int | None = None) -> str:
        return welsh_names(version_id).process(process_id, english, session.get("lang", "en"))


def case_name(reference: str | None, instance_id: int) -> str:
    """A review as people know it, wherever it is named: its case reference, else its number."""
    return str(reference or _("Review #%(id)s", id=instance_id))


def holder_of(task: Any) -> tuple[str, bool] | None:
    """Whom one open task is for, by name in the reader's language, and whether that is the reader
    (a person, never an agency: an agency's id may look like someone's username)."""
    holder = services.holders(db(), [task]).get(task.id)
    if holder is None:
        return None
    return holder.in_language(session.get("lang", "en")), holder.username == signed_in().username


def holder_names(tasks: list[Any]) -> dict[str, str]:
    """Task id -> who holds it (a person's name, or an agency's in the reader's language)."""
    lang = session.get("lang", "en")
    return {task_id: h.in_language(lang) for task_id, h in services.holders(db(), list(tasks)).items()}


def next_in_case(view: Any, actor: Any) -> tuple[bool, dict[str, Any]]:
    """Whether the person reads the whole case, and what a banner says comes next in it, from the
    case as the step that just ran returned it, already shaped for them (``guards.shaped``): for
    those who read the whole case, every open task and whom it is for; for one who only holds tasks
    in it, their own (nothing of another agency's part reaches them, as on the case page)."""
    whole = case_actions(db(), view.id, actor=actor).whole
    return whole, {
        "next_title": _("Who acts next") if whole else _("What is waiting for you"),
        "next": who_acts_next(view.open_tasks),
    }


def who_acts_next(tasks: list[Any]) -> list[str]:
    """One line per open task for a banner: the task, whom it is for when assigned, and its lane."""
    lang, holders = session.get("lang", "en"), holder_names(tasks)
    lines = []
    for task in tasks:
        names = welsh_names(task.version_id)
        name, lane = names.task(task.bpmn_id, task.name, lang), names.lane(task.lane, lang) or ""
        if task.id in holders:
            lines.append(_("%(task)s, for %(holder)s (%(lane)s)", task=name, holder=holders[task.id], lane=lane))
        else:
            lines.append(_("%(task)s (%(lane)s)", task=name, lane=lane) if lane else name)
    return lines


def may_work(task: Any) -> bool:
    """May the signed-in person open and work this task? (Where not, the page offers no link to it.)"""
    perms = services.permissions(db(), task.version_id)
    return access.can_work(signed_in().actor, perms, task.lane, task.assignee)


def welsh_names(version_id: int | None) -> WelshNames:
    """The Welsh names of a version's diagrams (the newest version's for None), once per request."""
    cache: dict[int | None, WelshNames] = g.setdefault("welsh_names", {})
    if version_id not in cache:
        cache[version_id] = services.welsh_names(db(), version_id)
    return cache[version_id]
