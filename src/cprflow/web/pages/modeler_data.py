"""JSON for the modeler's editor scripts: files and server-side drafts, checks, deploys, the
operators' registry and the form preview. Signed in by the page cookie, with the CSRF token in an
X-CSRFToken header; errors in the API's shape so the editors can mark the element at fault."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request, session
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from marshmallow import ValidationError

from cprflow import services
from cprflow.core import errors, forms, operators
from cprflow.core.expressions import WALES
from cprflow.services import drafts, modeling
from cprflow.web import formrender, schemas
from cprflow.web.common import check_storable, db, now, said, say
from cprflow.web.errors import STATUS, MalformedRequest, fields_of, pointers
from cprflow.web.pages.modeler import SignIn, require_owner

bp = Blueprint("modeler_data", __name__, url_prefix="/modeler/data")


@bp.errorhandler(errors.CprflowError)
def _json_error(err: errors.CprflowError) -> Any:
    status = next(s for kind, s in STATUS if isinstance(err, kind))
    body: dict[str, Any] = {"code": err.code, "message": err.message, "fields": fields_of(err)}
    # The editors mark problems on the element at fault, and offer to deploy over stale files.
    if isinstance(err, errors.DeployRefused):
        body["problems"] = _problems_out(err.problems)
    if isinstance(err, drafts.DraftsStale):
        body["stale"] = [_stale_out(s) for s in err.stale]
    return jsonify(error=body), status


@bp.errorhandler(ValidationError)
def _json_invalid(err: ValidationError) -> Any:
    return jsonify(
        error={"code": "invalid_request", "message": "the request does not fit", "fields": pointers(err.messages)}
    ), 422


@bp.errorhandler(SignIn)
def _json_sign_in(_: Exception) -> Any:
    return jsonify(error={"code": "unauthenticated", "message": "sign in first", "fields": {}}), 401


def _json_body(schema: type[Any]) -> Any:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise MalformedRequest("the body must be a JSON object (Content-Type: application/json)")
    check_storable(payload)
    return schema().load(payload)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _draft_out(view: drafts.DraftView) -> dict[str, Any]:
    return {
        "owner": view.owner,
        "path": view.path,
        "revision": view.revision,
        "saved_at": _iso(view.saved_at),
        "base_version_id": view.base_version_id,
    }


def _stale_out(found: drafts.StaleFile) -> dict[str, Any]:
    return {
        "path": found.path,
        "version_id": found.version_id,
        "deployed_by": found.deployed_by,
        "deployed_at": _iso(found.deployed_at),
    }


@bp.get("/file")
def file() -> Any:
    """A file of the newest version, with the signed-in owner's draft of it (what the editor
    opens), whether a later deploy changed the file since that draft began, and who else is
    editing it."""
    user = require_owner()
    path = request.args.get("path", "")
    files = services.newest_files(db())
    mine = drafts.get(db(), user.username, path)
    if path not in files and mine is None:
        raise errors.NotFound(f"no file {path!r} in the newest version")
    stale = [s for s in drafts.stale(db(), user.username) if s.path == path]
    others = [d for d in drafts.listing(db()) if d.path == path and d.owner != user.username]
    return jsonify(
        path=path,
        content=files[path].decode("utf-8") if path in files else None,
        draft=dict(_draft_out(mine), content=mine.content) if mine is not None else None,
        stale=_stale_out(stale[0]) if stale else None,
        others=[_draft_out(d) for d in others],
    )


@bp.get("/drafts")
def list_drafts() -> Any:
    """The signed-in owner's drafts (with any a later deploy made stale) and every other owner's."""
    user = require_owner()
    every = drafts.listing(db())
    return jsonify(
        mine=[_draft_out(d) for d in every if d.owner == user.username],
        others=[_draft_out(d) for d in every if d.owner != user.username],
        stale=[_stale_out(s) for s in drafts.stale(db(), user.username)],
    )


@bp.put("/drafts")
def save_draft() -> Any:
    user = require_owner()
    body = _json_body(schemas.DraftSaveRequest)
    saved = drafts.save(db(), user.username, body["path"], body["content"], revision=body["revision"], now=now())
    return jsonify(_draft_out(saved))


@bp.post("/drafts/discard")
def discard_drafts() -> Any:
    user = require_owner()
    paths = _json_body(schemas.DraftDiscardRequest)["paths"]
    return jsonify(discarded=drafts.discard(db(), user.username, paths))


@bp.post("/check")
def check() -> Any:
    """The deploy checks over the owner's saved drafts (or exactly the ``files`` given)."""
    user = require_owner()
    body = _json_body(schemas.EditorCheckRequest)
    if "files" in body:
        report = modeling.check_edits(db(), body["files"])
        return jsonify(_check_out(report))
    report = drafts.check(db(), user.username)
    return jsonify(
        dict(
            _check_out(report),
            revisions={d.path: d.revision for d in drafts.listing(db(), owner=user.username)},
            stale=[_stale_out(s) for s in drafts.stale(db(), user.username)],
        )
    )


@bp.post("/deploy")
def deploy() -> Any:
    """Check and deploy the owner's drafts (or exactly the ``files`` given) with a note saying why."""
    user = require_owner()
    body = _json_body(schemas.EditorDeployRequest)
    if "files" in body:
        note = drafts.require_note(body["note"])
        result = modeling.deploy_edits(db(), body["files"], actor=user.username, now=now(), note=note)
    else:
        result = drafts.deploy(
            db(),
            user.username,
            note=body["note"],
            now=now(),
            revisions=body.get("revisions"),
            confirm_stale=body["confirm_stale"],
        )
    out = schemas.VersionOut().dump(result)
    out["warnings"] = [say(w) for w in result.warnings]
    return jsonify(out), 201 if result.created else 200


def _check_out(report: Any) -> dict[str, Any]:
    """A check's report for the editors: its problems in the reader's language."""
    out: dict[str, Any] = schemas.CheckOut().dump(report)
    out["problems"] = _problems_out(report.problems)
    return out


def _problems_out(problems: list[errors.Problem]) -> list[dict[str, Any]]:
    """Problems in the reader's language; ``lang`` says which, as a check words some only in English
    (a parser's own detail, a check not yet worded for people) and the editors mark those lang="en"."""
    lang = "cy" if session.get("lang") == "cy" else "en"
    out: list[dict[str, Any]] = schemas.ProblemOut(many=True).dump(said(problems))
    for dumped, problem in zip(out, problems, strict=True):
        dumped["lang"] = lang if isinstance(problem.message, errors.Text) else "en"
    return out


@bp.get("/operators")
def list_operators() -> Any:
    """What a service task may call: each operator with the parameters it needs and takes."""
    require_owner()
    return jsonify(
        operators=[
            {"name": o.name, "required": sorted(o.required), "optional": sorted(o.optional), "doc": o.doc}
            for o in sorted(operators.registry().values(), key=lambda o: o.name)
        ]
    )


@bp.post("/form-preview")
def form_preview() -> Any:
    """The form as the staff task page would show it, rendered by the same code."""
    require_owner()
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
    opening = forms.prefilled(parsed["schema"], {}, now().astimezone(WALES).date())  # as the task page opens it
    html = formrender.render_form(
        parsed["schema"], parsed.get("ui_schema") or {}, opening, {}, session.get("lang", "en")
    )
    return jsonify(html=str(html))
