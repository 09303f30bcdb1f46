"""The JSON API under ``/api``: one blueprint per area, nested in ``bp``.

Each view loads its input with marshmallow, calls a use case as the caller (who may do what is the
use case's decision) and dumps the result; errors take the one shape of ``web.errors``.
"""

from __future__ import annotations

from flask import Blueprint

from cprflow.web.api import audit, documents, findings, instances, modeling, notifications, processes, tasks, tokens

AREAS = (tokens, processes, instances, tasks, documents, audit, modeling, notifications, findings)

bp = Blueprint("api", __name__, url_prefix="/api")
for _area in AREAS:
    bp.register_blueprint(_area.bp)
