"""The API's sign-in: a username and password exchanged for a bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from cprflow.services.users import authenticate
from cprflow.web import schemas
from cprflow.web.auth import issue_token
from cprflow.web.common import body, db, dump
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
    settings = current_app.config["CPRFLOW"]
    user = authenticate(
        db(),
        credentials["username"],
        credentials["password"],
        lockout_attempts=settings.lockout_attempts,
        lockout_minutes=settings.lockout_minutes,
    )
    issued, expires_at = issue_token(user)
    return dump(schemas.TokenResponse, {"token": issued, "expires_at": expires_at})
