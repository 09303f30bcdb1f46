"""The API of the findings repository: search, themes, trends, recurring themes, the anonymised export.

Who may use it is ``processes/permissions.json`` (``repository``); the repository holds filed
learning, never case data, so its readers need not be readers of any case."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from cprflow.features import findings
from cprflow.web import schemas
from cprflow.web.auth import current_user
from cprflow.web.common import PAGE_SIZE, db, dump, now, query
from cprflow.web.openapi import route

bp = Blueprint("findings", __name__)


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


@route(
    bp,
    "/findings",
    "GET",
    "Search the findings repository by text and theme across all Boards",
    query=schemas.FindingsQuery,
    response=schemas.FindingsPage,
    errors=(403,),
)
def api_search() -> Any:
    user = current_user()
    asked = query(schemas.FindingsQuery)
    found = findings.lookup(db(), user.actor, _api_args(asked), limit=PAGE_SIZE, offset=(asked["page"] - 1) * PAGE_SIZE)
    return dump(
        schemas.FindingsPage,
        {"results": [_filing_out(f) for f in found["results"]], "total": found["total"], "page": asked["page"]},
    )


@route(
    bp,
    "/findings/themes",
    "GET",
    "The theme taxonomy and the rule for recurring themes",
    response=schemas.TaxonomyOut,
    errors=(403,),
)
def api_themes() -> Any:
    user = current_user()
    taxonomy = findings.recurring_view(db(), user.actor, year=None)["taxonomy"]
    return dump(
        schemas.TaxonomyOut,
        {
            "themes": [vars(t) for t in taxonomy.themes],
            "min_reviews": taxonomy.min_reviews,
            "min_boards": taxonomy.min_boards,
        },
    )


@route(
    bp,
    "/findings/trends",
    "GET",
    "Reviews filed, counted by theme, Board and year",
    query=schemas.FindingsQuery,
    response=schemas.TrendsOut,
    errors=(403,),
)
def api_trends() -> Any:
    user = current_user()
    found = findings.trend_view(db(), user.actor, _api_args(query(schemas.FindingsQuery)))
    return dump(
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
    bp,
    "/findings/recurring",
    "GET",
    "Recurring themes: suggested Multi-Agency Professional Forum topics",
    query=schemas.RecurringQuery,
    response=schemas.RecurringList,
    errors=(403,),
)
def api_recurring() -> Any:
    user = current_user()
    found = findings.recurring_view(db(), user.actor, year=query(schemas.RecurringQuery).get("year"))
    return dump(
        schemas.RecurringList,
        {
            "recurring": _recurring_out(found),
            "min_reviews": found["taxonomy"].min_reviews,
            "min_boards": found["taxonomy"].min_boards,
        },
    )


@route(
    bp,
    "/findings/export",
    "GET",
    "The anonymised export for a national repository (no names, no case ids)",
    query=schemas.FindingsQuery,
    response=schemas.ExportOut,
    errors=(403,),
)
def api_export() -> Any:
    user = current_user()
    rows = findings.export(db(), user.actor, _api_args(query(schemas.FindingsQuery)), fmt="json", now=now())
    return dump(schemas.ExportOut, {"reviews": rows})
