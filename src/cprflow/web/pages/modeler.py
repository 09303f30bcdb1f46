"""Process owners' pages: the BPMN modeler, the DMN table editor, the form editor, versions and
their diffs, and migrating running reviews. Served with the page cookie and CSRF tokens.

The editors hold their edits in the browser until the owner checks and deploys them; the JSON
endpoints under ``/modeler/data`` answer the editors' scripts in the API's error shape.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from marshmallow import ValidationError

from cprflow import services
from cprflow.core import errors
from cprflow.diagrams.versions import zip_bytes
from cprflow.services import modeling
from cprflow.services.users import UserView
from cprflow.web import formrender, schemas
from cprflow.web.auth import current_user
from cprflow.web.common import check_storable
from cprflow.web.common import db as _db
from cprflow.web.common import now as _now
from cprflow.web.errors import STATUS, MalformedRequest, fields_of, pointers

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
data_bp = Blueprint("modeler_data", __name__, url_prefix="/modeler/data")

#: bpmn-js and dmn-js set inline styles and draw with data: images; everything else stays 'self'.
EDITOR_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _owner(*roles: str) -> UserView:
    """The signed-in process owner (or, for reading, one of ``roles``); others get 403."""
    try:
        user = current_user(pages=True)
    except errors.Unauthenticated:
        raise _SignIn from None
    if not set(roles or modeling.EDITORS) & set(user.roles):
        raise errors.Forbidden(_("Only process owners may do this."))
    return user


class _SignIn(Exception):
    pass


@bp.errorhandler(_SignIn)
def _to_login(_: Exception) -> Any:
    return redirect(url_for("account.login", next=request.full_path))


@bp.after_request
def _editor_csp(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = EDITOR_CSP
    return response


# ---------------------------------------------------------------------------------------------
# Pages


@bp.get("/")
def index() -> Any:
    _owner()
    files = sorted(services.newest_files(_db()))
    return render_template(
        "modeler/index.html",
        diagrams=[f for f in files if f.endswith(".bpmn")],
        tables=[f for f in files if f.endswith(".dmn")],
        forms=sorted(
            f.removeprefix("forms/").removesuffix(".schema.json") for f in files if f.endswith(".schema.json")
        ),
    )


def _editor(template: str, path: str, **extra: Any) -> Any:
    if path not in services.newest_files(_db()):
        raise errors.NotFound(path)
    return render_template(template, path=path, **extra)


@bp.get("/diagram")
def diagram() -> Any:
    _owner()
    return _editor("modeler/diagram.html", request.args.get("file", ""))


@bp.get("/table")
def table() -> Any:
    _owner()
    return _editor("modeler/table.html", request.args.get("file", ""))


@bp.get("/form")
def form() -> Any:
    _owner()
    name = request.args.get("name", "")
    return _editor("modeler/form.html", f"forms/{name}.schema.json", ui_path=f"forms/{name}.uischema.json", name=name)


@bp.get("/versions")
def versions() -> Any:
    _owner(*modeling.VERSION_READERS)
    return render_template("modeler/versions.html", versions=services.list_versions(_db()))


@bp.get("/versions/<int:version_id>")
def version(version_id: int) -> Any:
    _owner(*modeling.VERSION_READERS)
    against = request.args.get("against", type=int)
    info = modeling.version_info(_db(), version_id)
    base = against if against is not None else modeling.predecessor(_db(), version_id)
    found = modeling.version_diff(_db(), version_id, base)
    return render_template(
        "modeler/version.html", info=info, against=base, diffs=found, versions=services.list_versions(_db())
    )


@bp.get("/versions/<int:version_id>.zip")
def version_zip(version_id: int) -> Any:
    _owner(*modeling.VERSION_READERS)
    body = zip_bytes(modeling.version_files(_db(), version_id))
    return Response(
        body,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=cprflow-version-{version_id}.zip"},
    )


@bp.route("/versions/<int:version_id>/migrate", methods=["GET", "POST"])
def migrate(version_id: int) -> Any:
    user = _owner()
    modeling.version_info(_db(), version_id)
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        chosen = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
        if not reason or not chosen:
            flash(_("Choose at least one review and give a reason."))
            return redirect(url_for("modeler.migrate", version_id=version_id))
        for instance_id in chosen:  # one transaction each: one refusal does not undo the others
            try:
                modeling.migrate_instance(
                    _db(),
                    instance_id,
                    version_id,
                    reason=reason,
                    actor=user.username,
                    now=_now(),
                    step_seconds=current_app.config["CPRFLOW"].step_seconds,
                )
                flash(_("Review %(id)s moved to version %(version)s.", id=instance_id, version=version_id))
            except errors.CprflowError as err:
                flash(_("Review %(id)s not moved: %(reason)s", id=instance_id, reason=err.message))
        return redirect(url_for("modeler.migrate", version_id=version_id))
    previews = modeling.preview_migrations(
        _db(), version_id, now=_now(), step_seconds=current_app.config["CPRFLOW"].step_seconds
    )
    return render_template("modeler/migrate.html", version_id=version_id, previews=previews)


# ---------------------------------------------------------------------------------------------
# JSON for the editors' scripts (cookie and X-CSRFToken header; the API's error shape)


@data_bp.errorhandler(errors.CprflowError)
def _json_error(err: errors.CprflowError) -> Any:
    status = next(s for kind, s in STATUS if isinstance(err, kind))
    return jsonify(error={"code": err.code, "message": err.message, "fields": fields_of(err)}), status


@data_bp.errorhandler(ValidationError)
def _json_invalid(err: ValidationError) -> Any:
    return jsonify(
        error={"code": "invalid_request", "message": "the request does not fit", "fields": pointers(err.messages)}
    ), 422


@data_bp.errorhandler(_SignIn)
def _json_sign_in(_: Exception) -> Any:
    return jsonify(error={"code": "unauthenticated", "message": "sign in first", "fields": {}}), 401


def _json_body(schema: type[Any]) -> Any:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise MalformedRequest("the body must be a JSON object (Content-Type: application/json)")
    check_storable(payload)
    return schema().load(payload)


@data_bp.get("/file")
def file() -> Any:
    _owner()
    path = request.args.get("path", "")
    files = services.newest_files(_db())
    if path not in files:
        raise errors.NotFound(f"no file {path!r} in the newest version")
    return jsonify(path=path, content=files[path].decode("utf-8"))


@data_bp.post("/check")
def check() -> Any:
    _owner()
    report = modeling.check_edits(_db(), _json_body(schemas.EditsRequest)["files"])
    return jsonify(schemas.CheckOut().dump(report))


@data_bp.post("/deploy")
def deploy() -> Any:
    user = _owner()
    result = modeling.deploy_edits(_db(), _json_body(schemas.EditsRequest)["files"], actor=user.username, now=_now())
    return jsonify(schemas.VersionOut().dump(result)), 201 if result.created else 200


@data_bp.post("/form-preview")
def form_preview() -> Any:
    """The form as the staff task page would show it, rendered by the same code."""
    _owner()
    body = _json_body(schemas.FormPreviewRequest)
    fields: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for key in ("schema", "ui_schema"):
        try:
            parsed[key] = json.loads(body[key]) if body.get(key, "").strip() else None
        except ValueError as err:
            fields[f"/{key}"] = [f"not valid JSON: {err}"]
    if isinstance(parsed.get("schema"), dict):
        try:
            Draft202012Validator.check_schema(parsed["schema"])
        except SchemaError as err:
            fields["/schema"] = [f"not a valid JSON Schema (2020-12): {err.message}"]
    elif "/schema" not in fields:
        fields["/schema"] = ["must be a JSON object"]
    if fields:
        raise errors.InvalidData("the form cannot be shown", fields=fields)
    html = formrender.render_form(parsed["schema"], parsed.get("ui_schema") or {}, {}, {}, session.get("lang", "en"))
    return jsonify(html=str(html))
