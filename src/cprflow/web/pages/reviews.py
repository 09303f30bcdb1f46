"""A review's page: its stage, timescales, holds, open tasks and documents, and document downloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _

from cprflow import services
from cprflow.core.views import holds_of
from cprflow.services import documents
from cprflow.web.common import attachment, db, known_id, now, signed_in

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
