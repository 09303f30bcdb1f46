"""A person's tasks, and a task's form: fill it in, save a draft, complete it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cprflow import services
from cprflow.core import form_messages, forms
from cprflow.core import register as reg
from cprflow.core.errors import Conflict, InvalidData, NotFound, TaskClosed
from cprflow.core.expressions import WALES
from cprflow.services import users
from cprflow.web import formrender
from cprflow.web.common import db, now, safe_next, signed_in, step_seconds
from cprflow.web.pages import case_name, next_in_case, welsh_names
from cprflow.web.pages.documents import posted_documents

bp = Blueprint("tasks", __name__)


@bp.get("/tasks")
def my_tasks() -> Any:
    user = signed_in()
    everything = services.list_tasks(db(), actor=user.actor)
    lane, review = request.args.get("lane") or None, request.args.get("review") or None
    shown = [
        t for t in everything if (lane is None or t.lane == lane) and (review is None or str(t.instance_id) == review)
    ]
    return render_template(
        "tasks.html",
        tasks=shown,
        now=now(),
        selected_lane=lane,
        selected_review=review,
        lanes=sorted({t.lane for t in everything if t.lane}),
        reviews=sorted(
            {(str(t.instance_id), case_name(t.reference, t.instance_id)) for t in everything}, key=lambda r: int(r[0])
        ),
    )


def _closed(err: TaskClosed) -> Any:
    """Someone else finished first: say who and when, and lead back to the case, with 409."""
    return render_template("task_closed.html", closed=err, posted=request.method == "POST"), 409


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
def task(task_id: str) -> Any:
    user = signed_in()
    if "\x00" in task_id:  # no task has one, and PostgreSQL refuses to be asked
        raise NotFound(task_id)
    try:
        return _task(task_id, user)
    except TaskClosed as err:
        return _closed(err)


def _task(task_id: str, user: Any) -> Any:
    if request.method == "GET":
        detail = services.read_task(db(), task_id, actor=user.actor, now=now())
    else:
        detail = services.get_task(db(), task_id, actor=user.actor)
    lang = session.get("lang", "en")
    errors: dict[str, list[str]] = {}
    data = detail.data
    if request.method == "GET":  # as the form opens: a date it fills in as today, until changed
        data = forms.prefilled(detail.schema, data, now().astimezone(WALES).date())
    if request.method == "POST":
        action = request.form.get("_action")
        try:  # files first, all or none: a refused file is named at its field and nothing is stored
            files, refused = (
                posted_documents(user, detail.task.instance_id, detail.schema, detail.task.assignee),
                None,
            )
        except InvalidData as err:
            files, refused = {}, err
        data = formrender.parse_submission(detail.schema, request.form, documents=files)
        try:
            if refused is not None:
                raise refused
            if request.form.get("_add"):
                data = _add_row(data, request.form["_add"])
            elif action == "draft":
                services.save_draft(db(), task_id, data, actor=user.actor, now=now())
                flash({"heading": _("Draft saved.")}, "success")
                return redirect(url_for("tasks.task", task_id=task_id))
            elif action == "complete" and (detail.ui_schema or {}).get(CHECK_ANSWERS) is True:
                # a decision: shown back to be checked before it counts (kept meanwhile as a draft)
                services.check_answers(db(), task_id, data, actor=user.actor, now=now())
                services.save_draft(db(), task_id, data, actor=user.actor, now=now())
                return redirect(url_for("tasks.check", task_id=task_id))
            elif action == "complete":
                return _complete(detail, data, user)
        except InvalidData as err:
            errors = form_messages.explain(detail.schema, err, lang) or {"/": [err.message]}
        except TaskClosed:
            raise
        except Conflict:
            flash(_("Someone else is working on this task. Ask them, or someone who assigns tasks, to give it to you."))
            return redirect(url_for("tasks.task", task_id=task_id))
    if request.method == "POST":  # shown again (errors, a new row): read-only fields need stored values
        detail = services.get_task(db(), task_id, actor=user.actor)
    instance_id = detail.task.instance_id
    error_summary, form_html = formrender.render_form_parts(
        detail.schema,
        detail.ui_schema,
        data,
        errors,
        lang,
        stored=detail.data,
        case=detail.instance_data,
        # The files this task's form holds open from it: its holder may read those slots (guards.readable_slots).
        document_href=lambda document_id: url_for("reviews.document", instance_id=instance_id, document_id=document_id),
    )
    facts = [formrender.render_facts(f.title, f.title_cy, f.schema, f.values, lang) for f in detail.facts]
    # The diagram's instructions are English; a Welsh page shows the form's Welsh description instead.
    welsh = detail.schema.get("x-description-cy") if lang == "cy" else None
    instructions = welsh if isinstance(welsh, str) and welsh else detail.task.instructions
    page = render_template(
        "task.html",
        task=detail.task,
        detail=detail,
        facts=facts,
        form_html=form_html,
        error_summary=error_summary,
        now=now(),
        instructions=instructions,
        instructions_lang="en" if lang == "cy" and instructions == detail.task.instructions else None,
        reference=reg.reference_of(detail.instance_data or {}),
    )
    return page, (422 if errors else 200)


CHECK_ANSWERS, WHAT_NEXT = "ui:checkAnswers", "ui:whatNext"


def _complete(detail: Any, data: dict[str, Any], user: Any) -> Any:
    """Complete the task, then say what happens next: the form's own words, and who acts now."""
    view = services.complete_task(db(), detail.task.id, data, actor=user.actor, now=now(), step_seconds=step_seconds())
    lang = session.get("lang", "en")
    names = services.welsh_names(db(), detail.task.version_id)
    # One GOV.UK success banner: what was done, what happens next, and who acts now (by name).
    declared = (detail.ui_schema or {}).get(WHAT_NEXT)
    text = (declared.get(lang) or declared.get("en")) if isinstance(declared, dict) else None
    _whole, following = next_in_case(view, user.actor)
    done = {
        "heading": _("Done: %(name)s", name=names.task(detail.task.bpmn_id, detail.task.name, lang)),
        "text": _("What happens next: %(text)s", text=text) if isinstance(text, str) and text else "",
        **following,
        "end": _("Nothing more is waiting in this review.")
        if not following["next"] and view.status not in ("running", "suspended")
        else "",
    }
    flash(done, "success")
    return redirect(url_for("reviews.review", instance_id=view.id))


def _answers(detail: Any) -> dict[str, Any]:
    """The answers a person gives (never the read-only values the form only shows)."""
    props = detail.schema.get("properties") or {}
    return {k: v for k, v in detail.data.items() if isinstance(props.get(k), dict) and not props[k].get("readOnly")}


@bp.route("/tasks/<task_id>/check", methods=["GET", "POST"])
def check(task_id: str) -> Any:
    """Check your answers: what the draft holds, shown back; confirming completes the task with it."""
    user = signed_in()
    try:
        detail = services.get_task(db(), task_id, actor=user.actor)
        if request.method == "POST":
            try:
                return _complete(detail, _answers(detail), user)
            except InvalidData:  # the case moved on under the draft: back to the form, which says why
                flash(_("Check the answers again: something has changed since."))
                return redirect(url_for("tasks.task", task_id=task_id))
            except TaskClosed:
                raise
            except Conflict:
                flash(
                    _(
                        "Someone else is working on this task. Ask them, or someone who assigns tasks, to give it to you."
                    )
                )
                return redirect(url_for("tasks.task", task_id=task_id))
    except TaskClosed as err:
        return _closed(err)
    lang = session.get("lang", "en")
    answers = _answers(detail)
    props = {k: v for k, v in (detail.schema.get("properties") or {}).items() if k in answers}
    shown = formrender.render_facts(
        detail.schema.get("title") or detail.task.name,
        detail.schema.get("x-title-cy"),
        {**detail.schema, "properties": props},
        answers,
        lang,
    )
    return render_template("task_check.html", task=detail.task, answers=shown)


def _add_row(data: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The "Add another" button's row, or a refusal naming the field when it names no list of this form."""
    try:
        return formrender.add_row(data, pointer)
    except ValueError:
        message = _("“Add another” (_add) does not name a list in this form.")
        raise InvalidData(message, fields={"/_add": [message]}) from None


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> Any:
    """Take the task (so colleagues see it is in hand), or give it back."""
    user = signed_in()
    release = request.form.get("_action") == "release"
    try:
        services.claim_task(db(), task_id, actor=user.actor, now=now(), release=release)
    except TaskClosed as err:
        return _closed(err)
    except Conflict:
        flash(_("Someone else is working on this task. Ask them, or someone who assigns tasks, to give it to you."))
    else:
        flash({"heading": _("You gave this task back.") if release else _("This task is yours.")}, "success")
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.post("/tasks/<task_id>/assign")
def assign(task_id: str) -> Any:
    """Give the task to a colleague who may work it (or to no one), for those who assign tasks."""
    user = signed_in()
    to = request.form.get("username") or None
    try:
        given = services.assign_task(db(), task_id, to, actor=user.actor, now=now())
    except TaskClosed as err:
        return _closed(err)
    except InvalidData:
        flash(_("Choose someone who may work this task."))
    else:
        name = welsh_names(given.version_id).task(given.bpmn_id, given.name, session.get("lang", "en"))
        if to:
            holder = users.display_names(db(), {to}).get(to, to)
            said = {"heading": _("Task assigned"), "text": _("%(task)s is now with %(name)s.", task=name, name=holder)}
        else:
            said = {"heading": _("Task unassigned"), "text": _("%(task)s is with no one now.", task=name)}
        flash(said, "success")
    return redirect(
        safe_next(request.form.get("next")) if request.form.get("next") else url_for("tasks.task", task_id=task_id)
    )
