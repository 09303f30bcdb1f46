"""One error shape everywhere: ``{"error": {"code", "message", "fields"}}``; codes map to statuses here."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from cprflow.core import errors
from cprflow.db.database import DatabaseUnavailable

log = logging.getLogger(__name__)


class MalformedRequest(errors.CprflowError):
    """The body is not JSON, or not the JSON object the endpoint takes."""

    code = "malformed_request"


#: How long a client should wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5

STATUS: list[tuple[type[errors.CprflowError], int]] = [
    (MalformedRequest, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.NotWaiting, 409),
    (DatabaseUnavailable, 503),
    (errors.CprflowError, 422),  # invalid data, refused deploys, failed diagram code
]


def error_response(code: str, message: str, status: int, fields: dict[str, list[str]] | None = None) -> Any:
    if not request.path.startswith("/api/"):
        # Pages answer people, not programs: the same facts as a page, never a stack trace; and a page
        # that is not there, or not for this person, says no more than that.
        if status == 404:
            return render_template(
                "message.html", title=_("Not found"), message=_("There is nothing here you may see.")
            ), status
        if status == 403:  # the reason names roles in the API's words: a page says it in the reader's language
            return render_template(
                "message.html",
                title=_("You cannot do this"),
                message=_("Your role does not allow this. Ask an administrator if you think it should."),
            ), status
        return render_template("message.html", title=_("Something needs attention"), message=message), status
    return jsonify(error={"code": code, "message": message, "fields": fields or {}}), status


def pointers(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as JSON pointers: {"/data/name": ["..."]}."""
    if isinstance(messages, dict):
        found: dict[str, list[str]] = {}
        for key, value in messages.items():
            found.update(pointers(value, f"{prefix}/{key}" if key != "_schema" else prefix or "/"))
        return found
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "/": [m if m != "Unknown field." else "is not a known field" for m in messages]}
    return {prefix or "/": [str(messages)]}


def fields_of(err: errors.CprflowError) -> dict[str, list[str]]:
    if isinstance(err, errors.DeployRefused):
        fields: dict[str, list[str]] = {}
        for p in err.problems:
            where = p.file + (f"#{p.element}" if p.element else "")
            fields.setdefault(where, []).append(f"line {p.line}: {p.message}" if p.line else p.message)
        return fields
    return err.fields


def install(app: Flask) -> None:
    @app.errorhandler(errors.CprflowError)
    def domain_error(err: errors.CprflowError) -> Any:
        status = next(s for kind, s in STATUS if isinstance(err, kind))
        response = make_response(error_response(err.code, err.message, status, fields_of(err)))
        if isinstance(err, DatabaseUnavailable):
            # Nothing was written; the same request may simply be sent again once the database is back.
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(ValidationError)
    def invalid_request(err: ValidationError) -> Any:
        return error_response("invalid_request", "the request does not fit the API", 422, pointers(err.messages))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        code = (err.name or "error").lower().replace(" ", "_")
        response = make_response(error_response(code, err.description or err.name, err.code or 500))
        # Keep what the exception says besides its body, e.g. a 405's Allow header (RFC 9110).
        for name, value in err.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        # Never a stack trace or case data in a response. The log gets where it failed (the
        # exception types and the frames) but not the exceptions' messages: those can quote
        # case data (a ValueError naming a value, a database error listing its parameters).
        log.error("unhandled error in %s %s: %s", request.method, request.url_rule or "(no route)", _located(err))
        return error_response("internal_error", "something went wrong; it has been logged", 500)


def _located(err: BaseException) -> str:
    """Exception types and tracebacks, causes included, without the messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"{type(current).__module__}.{type(current).__qualname__} (message withheld)\n{frames}")
        current = current.__cause__ or current.__context__
    return "\n".join(reversed(parts))
