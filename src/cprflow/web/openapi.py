"""The OpenAPI 3 document, generated from the marshmallow schemas each API view declares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint
from marshmallow import Schema

from cprflow.web import schemas

ERROR_STATUSES = {
    400: "Malformed request",
    401: "Not signed in, or the token is forged or expired",
    403: "Not allowed for this role or assignment",
    404: "No such thing",
    409: "Conflict: changed meanwhile",
    413: "Request too large",
    422: "Invalid data; `fields` names each field at fault",
    503: "Database unavailable; try again",
}


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    auth: bool = True
    multipart: bool = False
    #: Other success statuses with the same body (deploy answers 200 when nothing changed).
    also_ok: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []
#: The longest deploy note (the modeler's limit too).
NOTE_CHARS = 2000


def route(
    bp: Blueprint, rule: str, method: str, summary: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view with Flask and describe it for the OpenAPI document in one place."""
    operation = Operation(rule, method, summary, **options)
    OPERATIONS.append(operation)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        return bp.route(rule, methods=[method], endpoint=f"{method.lower()}_{view.__name__}")(view)

    return decorate


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for kind, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        params.append(
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer" if kind == "int" else "string"}}
        )
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


def build(prefix: str = "") -> dict[str, Any]:
    spec = APISpec(
        title="cprflow API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Child Practice Reviews as executable diagrams. Every error has the shape "
            '`{"error": {"code", "message", "fields"}}`.'
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ErrorResponse", schema=schemas.ErrorResponse)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path, params = _path(prefix + op.rule)
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}{path.replace('/', '_')}",
            "parameters": params,
            "responses": {},
        }
        if op.query is not None:
            item["parameters"] = params + [{"in": "query", "schema": op.query}]
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        if op.multipart:
            item["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                "note": {"type": "string", "maxLength": NOTE_CHARS},
                            },
                        }
                    }
                },
            }
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": op.response}}
        for status in (op.status, *op.also_ok):
            item["responses"][str(status)] = ok
        implied = {*((401,) if op.auth else ()), *((422,) if op.body or op.query else ()), *((400,) if op.body else ())}
        for status in sorted({*op.errors, *implied}):
            item["responses"][str(status)] = {
                "description": ERROR_STATUSES.get(status, "Error"),
                "content": {"application/json": {"schema": "ErrorResponse"}},
            }
        if op.auth:
            item["security"] = [{"bearer": []}]
        item.update(op.extra)
        paths.setdefault(path, {})[op.method.lower()] = item
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
