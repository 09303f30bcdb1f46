"""The findings repository's pages: search, trends, recurring themes (with a forum started on one) and
the anonymised export. Who may see them is ``processes/permissions.json`` (``repository``)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cprflow import services
from cprflow.core.errors import Forbidden, InvalidData
from cprflow.features import findings
from cprflow.web.common import db, now, signed_in, step_seconds

bp = Blueprint("findings", __name__, url_prefix="/learning")
PAGE_SIZE = 20
FORUM = "multi_agency_professional_forum"


@bp.errorhandler(Forbidden)
def _forbidden(err: Exception) -> Any:
    return render_template(
        "message.html", title=_("Not allowed"), message=_("Your roles may not use the findings repository.")
    ), 403


def _page_args() -> dict[str, Any]:
    return {
        "q": request.args.get("q", ""),
        "theme": [t for t in request.args.getlist("theme") if t],
        "board": request.args.get("board", ""),
        "year": request.args.get("year", ""),
        "review_type": request.args.get("review_type", ""),
    }


def _invalid(err: InvalidData, template: str) -> Any:
    problems = [f"{field}: {', '.join(messages)}" for field, messages in err.fields.items()]
    return render_template(
        "message.html", title=_("Check your search"), message="; ".join(problems) or err.message
    ), 422


@bp.get("")
def search_page() -> Any:
    user = signed_in()
    args = _page_args()
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    try:
        found = findings.lookup(db(), user.actor, args, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except InvalidData as err:
        return _invalid(err, "learning_search.html")
    return render_template(
        "learning_search.html",
        args=args,
        page=page,
        page_size=PAGE_SIZE,
        can_export=findings.may_export(db(), user.actor),
        **found,
    )


@bp.get("/trends")
def trends_page() -> Any:
    user = signed_in()
    args = _page_args()
    try:
        found = findings.trend_view(db(), user.actor, args)
    except InvalidData as err:
        return _invalid(err, "learning_trends.html")
    lang = session.get("lang", "en")
    taxonomy, trends = found["taxonomy"], found["trends"]
    shown = [
        (_("Reviews by theme"), [(taxonomy.name(t, lang), n) for t, n in trends["theme"]]),
        (_("Reviews by Board"), [(b, n) for b, n in trends["board"]]),
        (_("Reviews by year"), [(str(y), n) for y, n in trends["year"]]),
    ]
    charts = [(title, findings.bar_chart(title, bars)) for title, bars in shown]
    return render_template("learning_trends.html", args=args, charts=charts, **found)


@bp.get("/recurring")
def recurring_page() -> Any:
    user = signed_in()
    found = findings.recurring_view(db(), user.actor)
    may_start = services.may_start(db(), user.actor, FORUM)
    return render_template("learning_recurring.html", may_start=may_start, **found)


@bp.post("/recurring/forum")
def start_forum() -> Any:
    """Start a Multi-Agency Professional Forum on a recurring theme, its start form answered from the theme."""
    user = signed_in()
    if not services.may_start(db(), user.actor, FORUM):
        raise Forbidden("your roles may not start a forum")
    found = findings.recurring_view(db(), user.actor)
    theme, year = request.form.get("theme", ""), request.form.get("year", "")
    chosen = next((r for r in found["recurring"] if r.theme == theme and str(r.year) == year), None)
    if chosen is None:
        flash(_("That theme is no longer recurring; nothing was started."))
        return redirect(url_for("findings.recurring_page"))
    label = found["taxonomy"].name(theme)
    # The forum's start form (forms/start_multi_agency_professional_forum.schema.json), answered from the theme.
    reason = f"Recurring theme in {chosen.year}: {label} ({chosen.reviews} reviews, {len(chosen.boards)} Boards)"
    answers = {
        "forum_title": f"{label} ({chosen.year})",
        "forum_purpose": reason,
        "board_area": ", ".join(chosen.boards),
    }
    view = services.start_instance(
        db(),
        FORUM,
        answers,
        actor=user.actor,
        now=now(),
        step_seconds=step_seconds(),
    )
    flash({"heading": _("Forum #%(id)s started on %(topic)s.", id=view.id, topic=label)}, "success")
    return redirect(url_for("reviews.review", instance_id=view.id))


@bp.get("/export.<fmt>")
def export_download(fmt: str) -> Any:
    user = signed_in()
    if fmt not in ("json", "csv"):
        return render_template(
            "message.html", title=_("Not found"), message=_("There is nothing here you may see.")
        ), 404
    try:
        rows = findings.export(db(), user.actor, _page_args(), fmt=fmt, now=now())
    except InvalidData as err:
        return _invalid(err, "")
    stamp = now().date().isoformat()
    if fmt == "csv":
        body, mimetype = findings.export_csv(rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = json.dumps({"reviews": rows}, ensure_ascii=False, indent=1), "application/json"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="findings-{stamp}.{fmt}"'}
    )
