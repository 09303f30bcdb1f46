"""A review's page: its stage, timescales, holds, open tasks and documents, and document downloads."""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from cprflow import services
from cprflow.core import form_messages
from cprflow.core import register as reg
from cprflow.core.errors import Forbidden, InstanceNotActive, InvalidData, NotFound, NotWaiting
from cprflow.core.views import InstanceView
from cprflow.db.models import STATUSES
from cprflow.features import agencies, letters, timescales
from cprflow.services import datafix, documents, users
from cprflow.services.instances import case_actions
from cprflow.web import formrender, labels, schemas
from cprflow.web.common import (
    PAGE_SIZE,
    attachment,
    db,
    known_id,
    now,
    register_filters,
    schema_of,
    signed_in,
    step_seconds,
)
from cprflow.web.dates import govuk_date
from cprflow.web.pages import casefile, events, next_in_case

bp = Blueprint("reviews", __name__)


def _findings_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The anonymisation findings the diagram keeps in the case (``anonymisation_findings``)."""
    found = data.get("anonymisation_findings")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


#: The register's filters that may be asked for, with the words that name a chosen one.
_FILTER_KEYS = ("reference", "process", "review_type", "stage", "status", "year", "overdue", "on_hold")


def _asked() -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """The query as typed (blanks dropped), as loaded, and a GOV.UK message per field at fault."""
    typed = {k: v.strip() for k, v in request.args.items() if v.strip() and "\x00" not in k + v}
    try:
        return typed, schema_of(schemas.InstanceQuery).load(typed), {}
    except ValidationError as err:
        messages = {"year": _("Enter a year as 4 digits, like 2026")}
        bad = {str(k): messages.get(str(k), _("Choose one of the options")) for k in err.messages_dict}
        return typed, schema_of(schemas.InstanceQuery).load({k: v for k, v in typed.items() if k not in bad}), bad


def _row(view: InstanceView, today: date) -> dict[str, Any]:
    data = view.data
    return {
        "id": view.id,
        "process_id": view.process_id,
        "status": view.status,
        "reference": reg.reference_of(data) or _("Review #%(id)s", id=view.id),
        "review_type": data.get("review_type"),
        "board": data.get("board_area"),
        "stage": data.get("stage"),
        "referral_date": data.get("referral_date"),
        "completion_due": data.get("completion_due"),
        "overdue": reg.overdue(view.status, data, today),
        "on_hold": bool(reg.holds_running(data)),
    }


def _chosen(typed: dict[str, str]) -> list[tuple[str, str]]:
    """Each chosen filter's words, with the register's address without it (the MOJ filter's tags)."""
    named = {
        "process": lambda v: labels.label("framework", v),
        "review_type": lambda v: labels.label("review_type", v),
        "stage": lambda v: labels.label("stage", v),
        "status": lambda v: labels.label("status", v),
        "year": lambda v: _("Referred in %(year)s", year=v),
        "reference": lambda v: _("Reference contains “%(text)s”", text=v),
        "overdue": lambda v: _("Past the 6-month date"),
        "on_hold": lambda v: _("On hold"),
    }
    return [
        (named[key](typed[key]), url_for("reviews.register", **{k: v for k, v in typed.items() if k != key}))
        for key in _FILTER_KEYS
        if key in typed
    ]


@bp.get("/reviews")
def register() -> Any:
    """The reviews register: every review the person may read, filtered and sorted in the database."""
    user = signed_in()
    typed, asked, errors = _asked()
    page = asked["page"]
    found, total = services.list_instances(
        db(), actor=user.actor, filters=register_filters(asked), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    today = now().date()
    kept = {k: v for k, v in typed.items() if k != "page"}
    sorts = {
        "newest": _("Newest first"),
        "oldest": _("Oldest first"),
        "referral": _("Referral date, earliest first"),
        "due": _("6-month date, soonest first"),
        "updated": _("Last changed, latest first"),
    }
    return render_template(
        "reviews_register.html",
        rows=[_row(view, today) for view in found],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        page_href=lambda n: url_for("reviews.register", **kept, page=n),
        args=typed,
        errors=errors,
        chosen=_chosen({k: v for k, v in typed.items() if k in _FILTER_KEYS and k not in errors}),
        sort=asked["sort"],
        frameworks=labels.choices("framework"),
        review_types=labels.choices("review_type"),
        stages=labels.choices("stage"),
        statuses=[(s, labels.label("status", s)) for s in STATUSES],
        sorts=list(sorts.items()),
        may_start=bool(_startable(user)),
    ), (422 if errors else 200)


SECTIONS = ("overview", "tasks", "documents", "timeline", "holds", "timescales", "decisions")


@bp.get("/reviews/<int:instance_id>")
def review(instance_id: int) -> Any:
    return _case_page(instance_id, "overview")


@bp.get("/reviews/<int:instance_id>/<any(tasks,documents,timeline,holds,timescales,decisions):section>")
def case_section(instance_id: int, section: str) -> Any:
    return _case_page(instance_id, section)


def _case_page(instance_id: int, section: str, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    user = signed_in()
    known_id(instance_id)
    view = services.get_instance(db(), instance_id, actor=user.actor)
    services.record_read(db(), instance_id, actor=user.username, now=now(), what=f"case page ({section})")
    today = now().date()
    extra: dict[str, Any] = {}
    if section == "documents":
        extra["documents"] = documents.latest(db(), user.actor, instance_id)
        extra["people"] = users.display_names(db(), {d.uploaded_by for d in extra["documents"]})
        extra["findings"] = _findings_of(view.data)
        lang = session.get("lang", "en")
        extra["slot_names"] = casefile.slot_names(_schemas(), _agencies(), lang)
        for slot, titles in letters.slot_titles(services.newest_files(db())).items():
            extra["slot_names"].setdefault(slot, _("Letter: %(title)s", title=titles.get(lang) or titles.get("en")))
    if section == "holds":  # the kinds and parts the case's hold form offers, by name
        extra["hold_types"], extra["hold_scopes"] = _hold_choices(view)
        type_names, scope_names = dict(extra["hold_types"]), dict(extra["hold_scopes"])
        extra["type_name"] = lambda t: type_names.get(t) or labels.label("hold_type", t)
        extra["scope_name"] = lambda s: scope_names.get(s, s)
    if section == "tasks":  # whom each open task can be given to, for those who assign tasks
        extra["workers"] = services.task_workers(db(), instance_id, actor=user.actor)
    if section == "timeline":
        try:
            extra["events"] = list(reversed(services.list_events(db(), instance_id, actor=user.actor, limit=500)))
            extra["people"] = users.display_names(db(), {e.actor for e in extra["events"]})
        except NotFound:  # reads the parts of the case its tasks need, not the whole history
            extra["events"] = None
    actions = case_actions(db(), instance_id, actor=user.actor)
    return render_template(
        "case.html",
        instance=view,
        section=section,
        sections=SECTIONS,
        case=casefile.identity(view, today),
        timescales=casefile.timescales(view, today),
        clock_stop=casefile.clock_stop(view),
        holds=casefile.holds(view),
        decisions=casefile.decisions(view, session.get("lang", "en"), _choice_names()),
        actions=actions,
        fixable=[(f.key, _fix_option(f)) for f in datafix.fixable(db(), instance_id)] if actions.admin else [],
        errors=errors or {},
        form=request.form,
        today=today,
        event_title=lambda e: events.title(e.kind, e.detail, view.version_id),
        **extra,
    ), status


def _schemas() -> list[Any]:
    files = services.newest_files(db())
    return [json.loads(c) for name, c in sorted(files.items()) if name.endswith(".schema.json")]


def _agencies() -> list[dict[str, str]]:
    with db().transaction(write=False) as session_:
        return agencies.known(session_) or []


def _choice_names() -> dict[str, dict[str, tuple[str, str]]]:
    return casefile.choice_names(_schemas())


def _hold_choices(view: InstanceView) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    schema = services.message_schema(db(), view.version_id, "hold_started")
    return casefile.hold_choices(schema, session.get("lang", "en"))


@bp.post("/reviews/<int:instance_id>/holds")
def start_hold(instance_id: int) -> Any:
    """Record a hold for parallel proceedings (processes/README.md, "Holds"): the person and the
    next hold number come from what the system knows."""
    user = signed_in()
    known_id(instance_id)
    _require(instance_id, "hold_started")
    view = services.get_instance(db(), instance_id, actor=user.actor)
    form = request.form
    errors = {}
    hold_types, hold_scopes = _hold_choices(view)
    if form.get("type") not in dict(hold_types):
        errors["type"] = _("Select the kind of proceedings")
    scope = [s for s in form.getlist("scope") if s in dict(hold_scopes)]
    if not scope:  # the errors in the order of the fields, as the summary lists them
        errors["scope"] = _("Select what the hold stops")
    if not form.get("reason", "").strip():
        errors["reason"] = _("Enter why the review is on hold")
    if errors:
        return _case_page(instance_id, "holds", errors, 422)
    payload = {
        "hold_id": f"H{len(casefile.holds(view)) + 1}",
        "type": form["type"],
        "reason": form["reason"].strip(),
        "authorised_by": user.display_name,
        "scope": scope,
    }
    return _send(instance_id, "hold_started", payload, _("Hold started."))


@bp.post("/reviews/<int:instance_id>/holds/<hold_id>/end")
def end_hold(instance_id: int, hold_id: str) -> Any:
    user = signed_in()
    known_id(instance_id)
    _require(instance_id, "hold_ended")
    if not request.form.get("reason", "").strip():
        return _case_page(instance_id, "holds", {f"end-{hold_id}": _("Enter why the hold has ended")}, 422)
    payload = {"hold_id": hold_id, "reason": request.form["reason"].strip(), "ended_by": user.display_name}
    return _send(instance_id, "hold_ended", payload, _("Hold ended."))


def _require(instance_id: int, action: str) -> None:
    """Refuse at once what the person may not do (before checking what they typed)."""
    user = signed_in()
    allowed = case_actions(db(), instance_id, actor=user.actor)
    if not (allowed.admin if action == "admin" else action in allowed.send):
        services.get_instance(db(), instance_id, actor=user.actor)  # who may not read it learns nothing
        raise Forbidden(f"your roles may not {action.replace('_', ' ')} here")


def _send(instance_id: int, message: str, payload: dict[str, Any], done: str) -> Any:
    user = signed_in()
    try:
        services.send_message(
            db(), instance_id, message, payload, actor=user.actor, now=now(), step_seconds=step_seconds()
        )
    except InvalidData as err:
        return _case_page(instance_id, "holds", {"hold": err.message}, 422)
    except NotWaiting:  # the page was shown before the review stopped (or started) taking this
        said = _("The review does not take this now: nothing was recorded.")
        return _case_page(instance_id, "holds", {"hold": said}, 409)
    flash({"heading": done}, "success")
    return redirect(url_for("reviews.case_section", instance_id=instance_id, section="holds"))


@bp.post("/reviews/<int:instance_id>/status")
def change_status(instance_id: int) -> Any:
    """Suspend, resume or terminate the case, with the reason recorded (administrators)."""
    user = signed_in()
    known_id(instance_id)
    _require(instance_id, "admin")
    action = request.form.get("action", "")
    if action not in ("suspend", "resume", "terminate"):
        return _case_page(instance_id, "overview", {"action": _("Choose one of the options")}, 422)
    if not request.form.get("reason", "").strip():
        return _case_page(instance_id, "overview", {"reason": _("Enter the reason")}, 422)
    try:
        services.set_status(db(), instance_id, action, reason=request.form["reason"], actor=user.actor, now=now())
    except InstanceNotActive:
        flash(_("The case has changed since the page was shown: nothing was done."))
    else:
        done = {"suspend": _("Case suspended."), "resume": _("Case resumed."), "terminate": _("Case terminated.")}
        flash({"heading": done[action]}, "success")
    return redirect(url_for("reviews.review", instance_id=instance_id))


def _fix_name(field: datafix.Fixable) -> str:
    return field.title_cy if session.get("lang") == "cy" and field.title_cy else field.title


def _fix_option(field: datafix.Fixable) -> str:
    """ "Board area (now: Powys)": the field by its form's name, with the value it holds."""
    now_ = field.value
    if field.kind == "boolean" and isinstance(now_, bool):
        shown = _("yes") if now_ else _("no")
    elif field.kind == "date" and now_:
        shown = govuk_date(now_)
    else:
        shown = "" if now_ is None else str(now_)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return _("%(field)s (now: %(value)s)", field=_fix_name(field), value=shown or "—")


_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})[ /.-]+([0-9]{1,2})[ /.-]+([0-9]{4})")


def _fixed_value(field: datafix.Fixable, typed: str) -> tuple[Any, str | None]:
    """What was typed as the field's kind of value, or the GOV.UK message saying what to enter."""
    if field.kind == "boolean":
        answers = {"yes": True, "ie": True, "true": True, "no": False, "na": False, "false": False}
        return (answers[typed.lower()], None) if typed.lower() in answers else (None, _("Enter yes or no"))
    if field.kind in ("number", "integer"):
        try:
            number = float(typed)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or (field.kind == "integer" and not number.is_integer()):
            return None, (_("Enter a whole number") if field.kind == "integer" else _("Enter a number"))
        return (int(number) if number.is_integer() else number), None
    if not typed:
        return None, _("Enter the new value")
    if field.kind == "date":
        parts = _DAY_MONTH_YEAR.fullmatch(typed)
        iso = f"{parts[3]}-{int(parts[2]):02d}-{int(parts[1]):02d}" if parts else typed
        try:
            date.fromisoformat(iso)
        except ValueError:
            return None, _("Enter a real date, for example 27 3 2026")
        return iso, None
    return typed, None


@bp.post("/reviews/<int:instance_id>/data-fix")
def fix_data(instance_id: int) -> Any:
    """Correct one field of the case's data, with the reason recorded in its history (administrators,
    as the API's data fix): checked against the forms first, and nothing changes if it is refused."""
    user = signed_in()
    known_id(instance_id)
    _require(instance_id, "admin")
    fields = {f.key: f for f in datafix.fixable(db(), instance_id)}
    key, typed = request.form.get("field", ""), request.form.get("value", "").strip()
    reason = request.form.get("fix_reason", "").strip()
    errors: dict[str, str] = {}
    value: Any = None
    if key not in fields:
        errors["field"] = _("Select the field to correct")
    else:
        value, problem = _fixed_value(fields[key], typed)
        if problem:
            errors["value"] = problem
    if not reason:
        errors["fix_reason"] = _("Enter why the data is being corrected")
    if errors:
        return _case_page(instance_id, "overview", errors, 422)
    try:
        datafix.fix_data(db(), instance_id, {key: value}, reason=reason, actor=user.username, now=now())
    except InvalidData:
        message = _("Enter a value that %(field)s accepts", field=_fix_name(fields[key]))
        return _case_page(instance_id, "overview", {"value": message}, 422)
    except InstanceNotActive:
        flash(_("The case has changed since the page was shown: nothing was done."))
    else:
        flash({"heading": _("Corrected: %(field)s.", field=_fix_name(fields[key]))}, "success")
    return redirect(url_for("reviews.review", instance_id=instance_id))


@bp.get("/reviews/<int:instance_id>/documents/<int:document_id>")
def document(instance_id: int, document_id: int) -> Any:
    user = signed_in()
    known_id(instance_id)
    known_id(document_id, "document")
    return attachment(*documents.download(db(), user.actor, instance_id, document_id, now=now()))


@bp.get("/overview")
def overview() -> Any:
    """The Board Chair's overview across the reviews they read: overdue and due within 14 days,
    breaches with their recorded reasons, holds running and the decisions waiting for them."""
    user = signed_in()
    today = now().date()

    def found(**filters: Any) -> tuple[list[dict[str, Any]], int]:
        views, total = services.list_instances(
            db(), actor=user.actor, filters=reg.Filters(today=today, sort="due", **filters), limit=PAGE_SIZE
        )
        return [_row(view, today) for view in views], total

    overdue, overdue_total = found(overdue=True)
    due_soon, due_soon_total = found(due_by=today + timedelta(days=14))
    held, held_total = found(on_hold=True)
    breaches = [r for r in timescales.per_review(db(), as_of=today, actor=user.actor) if r.breach]
    waiting = services.list_tasks(db(), actor=user.actor)
    return render_template(
        "overview.html",
        overdue=overdue,
        overdue_total=overdue_total,
        due_soon=due_soon,
        due_soon_total=due_soon_total,
        held=held,
        held_total=held_total,
        breaches=breaches,
        waiting=waiting,
        today=today,
    )


def _startable(user: Any) -> list[tuple[str, str]]:
    return [(p, labels.label("framework", p)) for p in labels.FRAMEWORK if services.may_start(db(), user.actor, p)]


@bp.route("/reviews/start", methods=["GET", "POST"])
def start() -> Any:
    """Start a review, forum or SUSR: choose which; then its start form, if its diagram declares one,
    and check the answers; then the new case's page."""
    user = signed_in()
    choices = _startable(user)
    if not choices:
        raise Forbidden("your roles may not start a review")
    chosen = request.values.get("process", "")
    if request.method == "POST" and chosen not in dict(choices):
        return render_template("start.html", choices=choices, error=_("Select what to start"), chosen=""), 422
    if request.method == "POST" and services.start_form(db(), chosen, actor=user.actor) is not None:
        return redirect(url_for("reviews.start_answers", process=chosen))
    if request.method == "POST" and request.form.get("confirm"):
        return _started(chosen, {})
    if request.method == "POST":
        return render_template("start_check.html", process=chosen, name=dict(choices)[chosen], answers=None)
    return render_template("start.html", choices=choices, error=None, chosen=chosen)


#: Where the session keeps the start form's answers between the form and the check page.
_STARTING = "starting"


def _start_form(process: str) -> services.StartFormView:
    """The process's start form, for a person who may start it (others are refused; none: not found)."""
    user = signed_in()
    if process not in labels.FRAMEWORK or not services.may_start(db(), user.actor, process):
        raise Forbidden("your roles may not start this")
    form = services.start_form(db(), process, actor=user.actor)
    if form is None:
        raise NotFound(f"{process} has no start form")
    return form


def _kept(process: str) -> dict[str, Any]:
    kept = session.get(_STARTING)
    return dict(kept["data"]) if isinstance(kept, dict) and kept.get("process") == process else {}


def _show_start_form(form: services.StartFormView, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    lang = session.get("lang", "en")
    error_summary, form_html = formrender.render_form_parts(form.schema, form.ui_schema, data, errors, lang)
    return render_template(
        "start_form.html",
        process=form.process_id,
        name=labels.label("framework", form.process_id),
        form=form.schema,
        lang=lang,
        form_html=form_html,
        error_summary=error_summary,
    ), (422 if errors else 200)


@bp.route("/reviews/start/<process>", methods=["GET", "POST"])
def start_answers(process: str) -> Any:
    """The process's start form (declared on its start event): answered, checked, kept for the check page."""
    user = signed_in()
    form = _start_form(process)
    if request.method == "GET":
        return _show_start_form(form, _kept(process), {})
    data = formrender.parse_submission(form.schema, request.form)
    try:
        services.check_start(db(), process, data, actor=user.actor, now=now())
    except InvalidData as err:
        return _show_start_form(form, data, form_messages.explain(form.schema, err, session.get("lang", "en")))
    session[_STARTING] = {"process": process, "data": data}
    return redirect(url_for("reviews.start_check", process=process))


@bp.route("/reviews/start/<process>/check", methods=["GET", "POST"])
def start_check(process: str) -> Any:
    """Check your answers before the case starts; each can be changed on the form."""
    form = _start_form(process)
    data = _kept(process)
    if not data:  # nothing answered yet (or the session has ended): the form first
        return redirect(url_for("reviews.start_answers", process=process))
    if request.method == "POST":
        try:
            return _started(process, data)
        except InvalidData as err:  # something changed since (a new day, a new version of the form)
            return _show_start_form(form, data, form_messages.explain(form.schema, err, session.get("lang", "en")))
    answers = formrender.render_answers(
        form.schema, form.ui_schema, data, url_for("reviews.start_answers", process=process), session.get("lang", "en")
    )
    return render_template(
        "start_check.html", process=process, name=labels.label("framework", process), answers=answers
    )


def _started(process: str, data: dict[str, Any]) -> Any:
    user = signed_in()
    view = services.start_instance(db(), process, data, actor=user.actor, now=now(), step_seconds=step_seconds())
    session.pop(_STARTING, None)
    heading = _("Started: %(what)s", what=labels.label("framework", process))
    whole, following = next_in_case(view, user.actor)
    if not whole and not view.open_tasks:
        # Someone who may start a case but not read it, and holds none of its first tasks (the Review
        # Sub-Group starting a forum): told it started, on their task list, not sent to a "not found".
        said = _(
            "%(case)s is with those who work its first tasks. It appears in your tasks when one is yours.",
            case=_("Review #%(id)s", id=view.id),
        )
        flash({"heading": heading, "text": said}, "success")
        return redirect(url_for("tasks.my_tasks"))
    started = {
        "heading": heading,
        "text": "" if following["next"] else _("Nothing is waiting yet."),
        **following,
        "end": "",
    }
    flash(started, "success")
    return redirect(url_for("reviews.review", instance_id=view.id))
