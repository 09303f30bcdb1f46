"""Process owners' pages: the BPMN modeler, the DMN table editor, the form editor, timescales,
versions and their diffs, and migrating running reviews. Served with the page cookie and CSRF tokens.

The editors save each owner's undeployed edits as server-side drafts until they are checked and
deployed with a note; ``modeler_data`` answers the editors' scripts in the API's error shape.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from cprflow import services
from cprflow.core import errors
from cprflow.diagrams import diagram_set
from cprflow.diagrams import versions as versioning  # 'versions' is the page below
from cprflow.services import drafts, modeling
from cprflow.services.users import UserView
from cprflow.web.auth import current_user
from cprflow.web.common import db, now
from cprflow.web.pages import modeler_strings, welsh_names

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

#: bpmn-js and dmn-js set inline styles and draw with data: images; everything else stays 'self'.
EDITOR_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'"
)


def require_owner(*roles: str) -> UserView:
    """The signed-in process owner (or, for reading, one of ``roles``); others get 403."""
    try:
        user = current_user(pages=True)
    except errors.Unauthenticated:
        raise SignIn from None
    if not set(roles or modeling.EDITORS) & set(user.roles):
        raise errors.Forbidden(_("Only process owners may do this."))
    return user


class SignIn(Exception):
    pass


@bp.errorhandler(SignIn)
def _to_login(_: Exception) -> Any:
    return redirect(url_for("account.login", next=request.full_path))


@bp.context_processor
def _strings() -> dict[str, Any]:
    return {"editor_strings": modeler_strings.editor_strings()}


@bp.after_request
def _editor_csp(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = EDITOR_CSP
    return response


# ---------------------------------------------------------------------------------------------
# Pages


@bp.get("/")
def index() -> Any:
    user = require_owner()
    files = sorted(services.newest_files(db()))
    every = drafts.listing(db())
    return render_template(
        "modeler/index.html",
        diagrams=[f for f in files if f.endswith(".bpmn")],
        tables=[f for f in files if f.endswith(".dmn")],
        forms=sorted(
            f.removeprefix("forms/").removesuffix(".schema.json") for f in files if f.endswith(".schema.json")
        ),
        messages=sorted(
            f.removeprefix("forms/").removesuffix(diagram_set.MESSAGE_SUFFIX)
            for f in files
            if f.endswith(diagram_set.MESSAGE_SUFFIX)
        ),
        mine={d.path: d for d in every if d.owner == user.username},
        others=[d for d in every if d.owner != user.username],
        has_timescales=diagram_set.TIMESCALES_FILE in files,
    )


@bp.get("/drafts")
def drafts_page() -> Any:
    """Every process owner's edits waiting to be deployed: who, which files, when last saved."""
    user = require_owner()
    return render_template("modeler/drafts.html", drafts=drafts.listing(db()), me=user.username)


@bp.get("/drafts/<owner>")
def owner_drafts(owner: str) -> Any:
    """One owner's waiting edits as changes from the newest version (read only to the others)."""
    user = require_owner()
    mine = drafts.listing(db(), owner=owner, content=True)
    newest = {name: content.decode("utf-8") for name, content in services.newest_files(db()).items()}
    edited = dict(newest, **{d.path: d.content or "" for d in mine})
    return render_template(
        "modeler/owner_drafts.html",
        owner=owner,
        own=owner == user.username,
        drafts=mine,
        stale=drafts.stale(db(), owner),
        diffs=versioning.diff(newest, edited),
        line_diff=versioning.line_diff,
    )


def _editor(template: str, path: str, **extra: Any) -> Any:
    if path not in services.newest_files(db()):
        raise errors.NotFound(path)
    return render_template(template, path=path, **extra)


@bp.get("/diagram")
def diagram() -> Any:
    require_owner()
    return _editor("modeler/diagram.html", request.args.get("file", ""))


@bp.get("/table")
def table() -> Any:
    require_owner()
    return _editor("modeler/table.html", request.args.get("file", ""))


@bp.get("/form")
def form() -> Any:
    """A task's form (its JSON Schema and UI schema), or with ``kind=message`` the form a message's
    payload must fit (a hold starting or ending: the case page offers what it lists)."""
    require_owner()
    name = request.args.get("name", "")
    if request.args.get("kind") == "message":
        return _editor(
            "modeler/form.html", f"forms/{name}{diagram_set.MESSAGE_SUFFIX}", ui_path="", name=name, message=True
        )
    return _editor("modeler/form.html", f"forms/{name}.schema.json", ui_path=f"forms/{name}.uischema.json", name=name)


# ---------------------------------------------------------------------------------------------
# Timescales as fields, saved as the owner's draft of processes/timescales.json


def _unit_names() -> dict[str, str]:
    return {"D": _("Days"), "W": _("Weeks"), "M": _("Months"), "Y": _("Years")}


def in_words(duration: str) -> str:
    """``P5D`` as "5 days" (in the page's language); anything else as it is written."""
    found = modeling.split_duration(duration)
    if not found:
        return duration
    n, unit = found
    words = {
        "D": ngettext("%(num)d day", "%(num)d days", n),
        "W": ngettext("%(num)d week", "%(num)d weeks", n),
        "M": ngettext("%(num)d month", "%(num)d months", n),
        "Y": ngettext("%(num)d year", "%(num)d years", n),
    }
    return words[unit]


def _read_durations(rows: list[modeling.Timescale]) -> tuple[dict[str, str], dict[str, str]]:
    """The durations the form gives, by ``process.key``, and GOV.UK error messages for those it cannot."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for row in rows:
        name = f"{row.process_id}.{row.key}"
        label = row.label_cy if session.get("lang") == "cy" else row.label
        if row.amount is None:
            text = request.form.get(f"{name}.duration", "").strip().upper()
            if modeling.duration_problem(text):
                problems[name] = _("Enter %(label)s as an ISO 8601 duration, for example P5D or P6M", label=label)
            values[name] = text
            continue
        amount, unit = request.form.get(f"{name}.amount", "").strip(), request.form.get(f"{name}.unit", "")
        if not amount.isdigit() or not 1 <= int(amount) <= modeling.MAX_AMOUNT:
            problems[name] = _("Enter a whole number from 1 to 999 for %(label)s", label=label)
        elif unit not in modeling.UNITS:
            problems[name] = _("Choose days, weeks, months or years for %(label)s", label=label)
        values[name] = f"P{int(amount)}{unit}" if amount.isdigit() and unit in modeling.UNITS else amount + unit
    return values, problems


@bp.route("/timescales", methods=["GET", "POST"])
def timescales() -> Any:
    """Each timescale as a number and a unit; a statutory one changes only once confirmed again."""
    user = require_owner()
    path = diagram_set.TIMESCALES_FILE
    newest = services.newest_files(db()).get(path)
    mine = drafts.get(db(), user.username, path)
    text = mine.content if mine is not None else newest.decode("utf-8") if newest is not None else None
    if text is None:
        raise errors.NotFound(_("The newest version has no timescales file."))
    rows = modeling.read_timescales(text or "")
    deployed = (
        {f"{t.process_id}.{t.key}": t.duration for t in modeling.read_timescales(newest.decode())} if newest else {}
    )
    values: dict[str, str] = {f"{t.process_id}.{t.key}": t.duration for t in rows}
    problems: dict[str, str] = {}
    to_confirm: list[modeling.Timescale] = []
    if request.method == "POST":
        values, problems = _read_durations(rows)
        # Only durations that are good can be changed, and so need confirming.
        keys = {r: f"{r.process_id}.{r.key}" for r in rows}
        changed = {r: values[keys[r]] for r in rows if keys[r] not in problems and values[keys[r]] != r.duration}
        confirmed = set(request.form.getlist("confirm"))
        to_confirm = [r for r in changed if r.statutory and f"{r.process_id}.{r.key}" not in confirmed]
        if not problems and to_confirm:
            problems["confirm"] = _("Confirm each change to a statutory timescale, or put it back")
        if not problems:
            if not changed:
                flash(_("Nothing changed: the timescales are as they were."))
                return redirect(url_for("modeler.timescales"))
            new_text = modeling.with_durations(text, {(r.process_id, r.key): d for r, d in changed.items()})
            try:
                drafts.save(
                    db(), user.username, path, new_text, revision=request.form.get("revision", 0, type=int), now=now()
                )
            except drafts.DraftChanged:
                flash(
                    _("Your timescales were saved from another tab or window meanwhile: here they are as saved there.")
                )
                return redirect(url_for("modeler.timescales"))
            flash(
                {
                    "heading": _("Saved on the server as your edit of the timescales."),
                    "text": _(
                        "Nothing changes for reviews until you check and deploy it, with any other edits, below."
                    ),
                },
                "success",
            )
            return redirect(url_for("modeler.timescales"))
    welsh = welsh_names(None)
    names = {
        p["id"]: welsh.process(p["id"], p["name"], session.get("lang", "en"))
        for v in services.list_versions(db())[:1]
        for p in v["processes"]
    }
    return render_template(
        "modeler/timescales.html",
        path=path,
        rows=rows,
        values=values,
        deployed=deployed,
        problems=problems,
        to_confirm=to_confirm,
        revision=mine.revision if mine is not None else 0,
        saved_at=mine.saved_at if mine is not None else None,
        process_names=names,
        shown=_shown(rows, values),
        targets=dict(
            {f"{r.process_id}.{r.key}": f"{r.process_id}.{r.key}.{'amount' if r.amount else 'duration'}" for r in rows},
            confirm="confirm-0",
        ),
        units=_unit_names(),
        in_words=in_words,
    ), 422 if problems else 200


def _shown(rows: list[modeling.Timescale], values: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What each field shows: what was sent when the form is shown again, else what is saved."""
    shown = {}
    for row in rows:
        name = f"{row.process_id}.{row.key}"
        split = modeling.split_duration(values[name])
        shown[name] = {
            "amount": request.form.get(f"{name}.amount", split[0] if split else ""),
            "unit": request.form.get(f"{name}.unit", split[1] if split else "D"),
            "duration": request.form.get(f"{name}.duration", values[name]),
        }
    return shown


@bp.get("/versions")
def versions() -> Any:
    require_owner(*modeling.VERSION_READERS)
    return render_template("modeler/versions.html", versions=services.list_versions(db()))


@bp.get("/versions/<int:version_id>")
def version(version_id: int) -> Any:
    require_owner(*modeling.VERSION_READERS)
    against = request.args.get("against", type=int)
    info = modeling.version_info(db(), version_id)
    base = against if against is not None else modeling.predecessor(db(), version_id)
    found = modeling.version_diff(db(), version_id, base)
    return render_template(
        "modeler/version.html",
        info=info,
        against=base,
        against_info=modeling.version_info(db(), base) if base is not None else None,
        diffs=found,
        versions=services.list_versions(db()),
        line_diff=versioning.line_diff,
    )


@bp.get("/versions/<int:version_id>.zip")
def version_zip(version_id: int) -> Any:
    require_owner(*modeling.VERSION_READERS)
    body = versioning.zip_bytes(modeling.version_files(db(), version_id))
    return Response(
        body,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=cprflow-version-{version_id}.zip"},
    )


@bp.route("/versions/<int:version_id>/migrate", methods=["GET", "POST"])
def migrate(version_id: int) -> Any:
    user = require_owner()
    modeling.version_info(db(), version_id)
    problems: dict[str, str] = {}
    reason = request.form.get("reason", "").strip()
    chosen = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
    if request.method == "POST":
        if not chosen:
            problems["instance"] = _("Select at least one review to move")
        if not reason:
            problems["reason"] = _("Enter the reason for moving the reviews")
    if request.method == "POST" and not problems:
        for instance_id in chosen:  # one transaction each: one refusal does not undo the others
            try:
                modeling.migrate_instance(
                    db(),
                    instance_id,
                    version_id,
                    reason=reason,
                    actor=user.username,
                    now=now(),
                    step_seconds=current_app.config["CPRFLOW"].step_seconds,
                )
                flash(
                    {"heading": _("Review %(id)s moved to version %(version)s.", id=instance_id, version=version_id)},
                    "success",
                )
            except errors.CprflowError as err:
                flash(_("Review %(id)s not moved: %(reason)s", id=instance_id, reason=err.message))
        return redirect(url_for("modeler.migrate", version_id=version_id))
    previews = modeling.preview_migrations(
        db(), version_id, actor=user.username, now=now(), step_seconds=current_app.config["CPRFLOW"].step_seconds
    )
    return render_template(
        "modeler/migrate.html",
        version_id=version_id,
        previews=previews,
        problems=problems,
        reason=reason,
        chosen=chosen,
    ), 422 if problems else 200
