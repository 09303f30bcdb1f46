"""What every API and page module shares: the database and clock of the request, reading and checking
request bodies and queries, answering JSON, and the signed-in person of a page."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from flask import Response, current_app, jsonify, request, send_file, url_for
from flask_babel import gettext
from marshmallow import Schema, ValidationError

from cprflow.core.errors import InvalidData, NotFound, Problem, Text, Unauthenticated
from cprflow.core.register import Filters
from cprflow.core.views import HOLDS_KEY, DocumentView, InstanceView, holds_of
from cprflow.db.database import Database
from cprflow.features.extraction import Bounds
from cprflow.services.users import UserView
from cprflow.web.auth import current_user
from cprflow.web.errors import MalformedRequest

#: Rows per page of a list.
PAGE_SIZE = 50
#: Deepest nesting of objects and arrays a body may have; forms need a handful of levels.
MAX_DEPTH = 64
#: Largest id a row can have (PostgreSQL's integer); beyond it nothing can be found.
MAX_ID = 2**31 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def db() -> Database:
    return current_app.extensions["cprflow.db"]  # type: ignore[no-any-return]


def now() -> datetime:
    return datetime.now(UTC)


def step_seconds() -> float:
    return float(current_app.config["CPRFLOW"].step_seconds)


# ---------------------------------------------------------------------------------------------
# Requests in, JSON out


def body(schema: type[Schema]) -> Any:
    """The request's JSON object, checked as storable and loaded with the schema."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # the JSON parser's own limit on nesting; Flask's silent= does not catch it
        raise MalformedRequest(f"the body nests deeper than {MAX_DEPTH} levels") from None
    if not isinstance(payload, dict):
        raise MalformedRequest("the body must be a JSON object (Content-Type: application/json)")
    check_storable(payload)
    return schema_of(schema).load(payload)


@functools.cache
def schema_of(schema: type[Schema]) -> Schema:
    """One instance per schema class: marshmallow schemas keep no per-call state, and building one
    walks its fields (a measurable part of a small request)."""
    return schema()


def check_storable(payload: Any) -> None:
    """Refuse what the JSON parser lets through but cannot be stored or answered as JSON.

    Python's parser takes ``NaN``, ``Infinity`` and ``1e999`` (not JSON: the answer would not parse),
    NUL and unpaired surrogates in strings (PostgreSQL's JSONB refuses them) and any depth (the
    engine and serializers recurse). Each is named by its JSON pointer.
    """
    fields: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(payload, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedRequest(
                f"the body nests deeper than {MAX_DEPTH} levels", fields={pointer: ["nests too deeply"]}
            )
        if isinstance(value, float) and not math.isfinite(value):
            fields.setdefault(pointer, []).append("is not a finite number")
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            fields.setdefault(pointer, []).append("contains a NUL or an unpaired surrogate character")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
                if _UNSTORABLE.search(key):
                    fields.setdefault(child, []).append("the key contains a NUL or an unpaired surrogate character")
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(value))
    if fields:
        raise MalformedRequest("the body has values that are not storable JSON", fields=dict(sorted(fields.items())))


def known_id(row_id: int, what: str = "instance") -> None:
    """An id no row can have is simply not found (the database would refuse to be asked)."""
    if not 1 <= row_id <= MAX_ID:
        raise NotFound(f"{what} {row_id} not found")


def known_task(task_id: str) -> None:
    if "\x00" in task_id:  # no task has one, and PostgreSQL refuses to be asked
        raise NotFound(f"task {task_id!r} not found")


def query(schema: type[Schema]) -> Any:
    args = request.args.to_dict()
    # PostgreSQL refuses NUL in any string it is given: a 422 naming the parameter, not a 500 there.
    bad = {key: ["contains a NUL character"] for key, value in args.items() if "\x00" in key + value}
    if bad:
        raise ValidationError(bad)
    return schema_of(schema).load(args)


@contextlib.contextmanager
def fields_within(key: str) -> Iterator[None]:
    """Services name fields inside the data they were given; the API names them inside the body."""
    try:
        yield
    except InvalidData as err:
        err.fields = {
            f"/{key}{pointer if pointer != '/' else ''}": messages for pointer, messages in err.fields.items()
        }
        raise


def dump(schema: type[Schema], value: Any, status: int = 200) -> Any:
    return jsonify(schema_of(schema).dump(value)), status


def register_filters(asked: dict[str, Any]) -> Filters:
    """The register's filters from a loaded ``schemas.InstanceQuery``, measured against today."""
    return Filters(
        process_id=asked.get("process") or None,
        review_type=asked.get("review_type") or None,
        stage=asked.get("stage") or None,
        status=asked.get("status") or None,
        overdue=bool(asked.get("overdue")),
        on_hold=bool(asked.get("on_hold")),
        year=asked.get("year"),
        reference=(asked.get("reference") or "").strip() or None,
        sort=asked.get("sort") or "newest",
        today=now().date(),
    )


def instance_out(view: InstanceView) -> dict[str, Any]:
    # stage, timescales and holds are data the diagrams keep under these names (processes/README.md).
    out = dict(vars(view))
    kept = HOLDS_KEY in view.data or "holds" in view.data
    out.update(
        stage=view.data.get("stage"),
        timescales=view.data.get("timescales"),
        holds=holds_of(view.data) if kept else None,
    )
    return out


def max_document_bytes() -> int:
    return int(current_app.config["CPRFLOW"].max_document_bytes)


def extraction_bounds() -> Bounds:
    settings = current_app.config["CPRFLOW"]
    return Bounds(seconds=settings.extract_seconds, memory_mb=int(settings.extract_memory_mb))


def attachment(view: DocumentView, content: bytes) -> Response:
    """A stored document as a download of its own type, never rendered inside the site."""
    response = send_file(
        io.BytesIO(content), mimetype=view.content_type, as_attachment=True, download_name=view.filename, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Pages: the signed-in person, or off to the sign-in page


class LoginRequired(Exception):
    """Raised by a page whose visitor is not signed in; answered with a redirect to sign in."""


def optional_user() -> UserView | None:
    try:
        return current_user(pages=True)
    except Unauthenticated:
        return None


def signed_in() -> UserView:
    user = optional_user()
    if user is None:
        raise LoginRequired
    return user


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, else the person's tasks.

    Browsers read ``//host``, ``///host`` and ``/\\host`` alike as another site."""
    parsed = urlparse(target or "")
    return (
        target
        if target
        and not parsed.scheme
        and not parsed.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        else url_for("account.home")
    )


def say(text: Any) -> str:
    """A message in the reader's language: a ``Text`` through the page catalogue (its parameters too,
    when they are ``Text``), anything else as it is."""
    if not isinstance(text, Text):
        return str(text)
    params = {k: say(v) if isinstance(v, Text) else v for k, v in text.params.items()}
    return str(gettext(text.template, **params)) if params else str(gettext(text.template))


def said(problems: list[Problem]) -> list[Problem]:
    """Deploy-check problems with their messages in the reader's language, for the editors to list."""
    return [Problem(p.file, say(p.message), p.element, p.line) for p in problems]
