"""The findings repository on the web: JSON API routes and staff pages (search, trends, recurring
themes, the anonymised export). Who may see it is ``processes/permissions.json`` (``repository``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cprflow import access, findings, schemas, services
from cprflow.errors import Forbidden, InvalidData, Unauthenticated
from cprflow.repository import Database
from cprflow.web import api
from cprflow.web.auth import current_user
from cprflow.web.openapi import route

bp = Blueprint("learning", __name__, url_prefix="/learning")
PAGE_SIZE = 20
FORUM = "multi_agency_professional_forum"


def _db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


def _filing_out(filing: findings.Filing) -> dict[str, Any]:
    # No instance id: readers of the repository need not be readers of the case.
    return {
        "board": filing.board,
        "year": filing.year,
        "review_type": filing.review_type,
        "themes": filing.themes,
        "items": filing.items,
    }


def _api_args(query: dict[str, Any]) -> dict[str, Any]:
    args = dict(query)
    args["theme"] = [t for t in (query.get("theme") or "").split(",") if t]
    return args


# ---------------------------------------------------------------------------------------------
# API


@route(
    api.bp,
    "/findings",
    "GET",
    "Search the findings repository by text and theme across all Boards",
    query=schemas.FindingsQuery,
    response=schemas.FindingsPage,
    errors=(403,),
)
def api_search() -> Any:
    user = current_user()
    query = api._query(schemas.FindingsQuery)
    found = findings.lookup(
        _db(), user.actor, _api_args(query), limit=api.PAGE_SIZE, offset=(query["page"] - 1) * api.PAGE_SIZE
    )
    return api._dump(
        schemas.FindingsPage,
        {"results": [_filing_out(f) for f in found["results"]], "total": found["total"], "page": query["page"]},
    )


@route(
    api.bp,
    "/findings/themes",
    "GET",
    "The theme taxonomy and the rule for recurring themes",
    response=schemas.TaxonomyOut,
    errors=(403,),
)
def api_themes() -> Any:
    user = current_user()
    taxonomy = findings.recurring_view(_db(), user.actor, year=None)["taxonomy"]
    return api._dump(
        schemas.TaxonomyOut,
        {
            "themes": [vars(t) for t in taxonomy.themes],
            "min_reviews": taxonomy.min_reviews,
            "min_boards": taxonomy.min_boards,
        },
    )


@route(
    api.bp,
    "/findings/trends",
    "GET",
    "Reviews filed, counted by theme, Board and year",
    query=schemas.FindingsQuery,
    response=schemas.TrendsOut,
    errors=(403,),
)
def api_trends() -> Any:
    user = current_user()
    found = findings.trend_view(_db(), user.actor, _api_args(api._query(schemas.FindingsQuery)))
    return api._dump(
        schemas.TrendsOut,
        {k: [{"key": str(key), "reviews": n} for key, n in rows] for k, rows in found["trends"].items()},
    )


def _recurring_out(found: dict[str, Any]) -> list[dict[str, Any]]:
    taxonomy = found["taxonomy"]
    return [
        {
            "theme": r.theme,
            "label": taxonomy.name(r.theme),
            "label_cy": taxonomy.name(r.theme, "cy"),
            "year": r.year,
            "reviews": r.reviews,
            "boards": list(r.boards),
        }
        for r in found["recurring"]
    ]


@route(
    api.bp,
    "/findings/recurring",
    "GET",
    "Recurring themes: suggested Multi-Agency Professional Forum topics",
    query=schemas.RecurringQuery,
    response=schemas.RecurringList,
    errors=(403,),
)
def api_recurring() -> Any:
    user = current_user()
    found = findings.recurring_view(_db(), user.actor, year=api._query(schemas.RecurringQuery).get("year"))
    return api._dump(
        schemas.RecurringList,
        {
            "recurring": _recurring_out(found),
            "min_reviews": found["taxonomy"].min_reviews,
            "min_boards": found["taxonomy"].min_boards,
        },
    )


@route(
    api.bp,
    "/findings/export",
    "GET",
    "The anonymised export for a national repository (no names, no case ids)",
    query=schemas.FindingsQuery,
    response=schemas.ExportOut,
    errors=(403,),
)
def api_export() -> Any:
    user = current_user()
    rows = findings.export(_db(), user.actor, _api_args(api._query(schemas.FindingsQuery)), fmt="json", now=_now())
    return api._dump(schemas.ExportOut, {"reviews": rows})


# ---------------------------------------------------------------------------------------------
# Pages


class _LoginRequired(Exception):
    pass


def _signed_in() -> Any:
    try:
        return current_user(pages=True)
    except Unauthenticated:
        raise _LoginRequired from None


@bp.errorhandler(_LoginRequired)
def _to_login(err: Exception) -> Any:
    return redirect(url_for("pages.login", next=request.full_path))


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
    user = _signed_in()
    args = _page_args()
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    try:
        found = findings.lookup(_db(), user.actor, args, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except InvalidData as err:
        return _invalid(err, "learning_search.html")
    return render_template(
        "learning_search.html", args=args, page=page, page_size=PAGE_SIZE, can_export=_may_export(user.actor), **found
    )


def _may_export(actor: access.Actor) -> bool:
    try:
        with _db().transaction(write=False) as s:
            findings._check(s, actor, export=True)
        return True
    except Forbidden:
        return False


@bp.get("/trends")
def trends_page() -> Any:
    user = _signed_in()
    args = _page_args()
    try:
        found = findings.trend_view(_db(), user.actor, args)
    except InvalidData as err:
        return _invalid(err, "learning_trends.html")
    lang = session.get("lang", "en")
    taxonomy, trends = found["taxonomy"], found["trends"]
    charts = [
        findings.bar_chart(_("Reviews by theme"), [(taxonomy.name(t, lang), n) for t, n in trends["theme"]]),
        findings.bar_chart(_("Reviews by Board"), [(b, n) for b, n in trends["board"]]),
        findings.bar_chart(_("Reviews by year"), [(str(y), n) for y, n in trends["year"]]),
    ]
    return render_template("learning_trends.html", args=args, charts=charts, **found)


@bp.get("/recurring")
def recurring_page() -> Any:
    user = _signed_in()
    found = findings.recurring_view(_db(), user.actor)
    may_start = access.can_start(user.actor, _forum_permissions(), FORUM)
    return render_template("learning_recurring.html", may_start=may_start, **found)


def _forum_permissions() -> access.Permissions:
    try:
        return services.latest_permissions(_db(), FORUM)
    except Exception:
        return access.Permissions()


@bp.post("/recurring/forum")
def start_forum() -> Any:
    """Start a Multi-Agency Professional Forum on a recurring theme (the forum diagram reads ``mapf_request``)."""
    user = _signed_in()
    found = findings.recurring_view(_db(), user.actor)
    if not access.can_start(user.actor, _forum_permissions(), FORUM):
        raise Forbidden("your roles may not start a forum")
    theme, year = request.form.get("theme", ""), request.form.get("year", "")
    chosen = next((r for r in found["recurring"] if r.theme == theme and str(r.year) == year), None)
    if chosen is None:
        flash(_("That theme is no longer recurring; nothing was started."))
        return redirect(url_for("learning.recurring_page"))
    label = found["taxonomy"].name(theme)
    request_data = {
        "topic": theme,
        "board_area": ", ".join(chosen.boards),
        "requested_date": _now().date().isoformat(),
        "reason": f"Recurring theme in {chosen.year}: {label} ({chosen.reviews} reviews, {len(chosen.boards)} Boards)",
    }
    view = services.start_instance(
        _db(),
        FORUM,
        {"mapf_request": request_data},
        actor=user.username,
        now=_now(),
        step_seconds=float(current_app.config["CPRFLOW"].step_seconds),
    )
    flash(_("Forum #%(id)s started on %(topic)s.", id=view.id, topic=label))
    return redirect(url_for("pages.review", instance_id=view.id))


@bp.get("/export.<fmt>")
def export_download(fmt: str) -> Any:
    user = _signed_in()
    if fmt not in ("json", "csv"):
        return render_template(
            "message.html", title=_("Not found"), message=_("There is nothing here you may see.")
        ), 404
    try:
        rows = findings.export(_db(), user.actor, _page_args(), fmt=fmt, now=_now())
    except InvalidData as err:
        return _invalid(err, "")
    stamp = _now().date().isoformat()
    if fmt == "csv":
        body, mimetype = findings.export_csv(rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = json.dumps({"reviews": rows}, ensure_ascii=False, indent=1), "application/json"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="findings-{stamp}.{fmt}"'}
    )
