"""The API's sign-in: a username and password exchanged for a bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from cprflow.web import schemas
from cprflow.web.auth import check_password, issue_token
from cprflow.web.common import body, dump
from cprflow.web.openapi import route

bp = Blueprint("tokens", __name__)


@route(
    bp,
    "/auth/token",
    "POST",
    "Exchange a username and password for a bearer token",
    body=schemas.TokenRequest,
    response=schemas.TokenResponse,
    auth=False,
    errors=(400, 401),
)
def token() -> Any:
    credentials = body(schemas.TokenRequest)
    user = check_password(credentials["username"], credentials["password"])
    issued, expires_at = issue_token(user)
    return dump(schemas.TokenResponse, {"token": issued, "expires_at": expires_at})
