"""A review's page: its stage, timescales, holds, open tasks and documents, and document downloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from cprflow import services
from cprflow.core import register as reg
from cprflow.core.views import InstanceView, holds_of
from cprflow.db.models import STATUSES
from cprflow.services import documents
from cprflow.web import labels, schemas
from cprflow.web.common import PAGE_SIZE, attachment, db, known_id, now, register_filters, schema_of, signed_in

bp = Blueprint("reviews", __name__)


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
    ), (422 if errors else 200)


@bp.get("/reviews/<int:instance_id>")
def review(instance_id: int) -> Any:
    user = signed_in()
    known_id(instance_id)
    view = services.get_instance(db(), instance_id, actor=user.actor)
    services.record_read(db(), instance_id, actor=user.username, now=now(), what="review page")
    status_labels = {
        "running": _("In progress"),
        "waiting": _("Waiting"),
        "completed": _("Completed"),
        "error": _("Needs an administrator"),
        "suspended": _("Suspended"),
        "terminated": _("Terminated"),
    }
    return render_template(
        "review.html",
        instance=view,
        status_label=status_labels.get(view.status, view.status),
        timescales=_timescales(view.data, now().date()),
        holds=holds_of(view.data),
        documents=documents.latest(db(), user.actor, instance_id),
        findings=_findings_of(view.data),
    )


@bp.get("/reviews/<int:instance_id>/documents/<int:document_id>")
def document(instance_id: int, document_id: int) -> Any:
    user = signed_in()
    known_id(instance_id)
    known_id(document_id, "document")
    return attachment(*documents.download(db(), user.actor, instance_id, document_id, now=now()))
