"""Who is calling: bearer tokens for the API, the session cookie for pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from cprflow.core.errors import Forbidden, Unauthenticated
from cprflow.services import users
from cprflow.services.users import UserView

_SALT = "cprflow-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: UserView) -> tuple[str, datetime]:
    hours = current_app.config["CPRFLOW"].token_hours
    token = _serializer().dumps({"u": user.id, "v": user.token_version})
    return token, datetime.now(UTC) + timedelta(hours=hours)


def _user_from(user_id: Any, token_version: Any) -> UserView:
    user = users.account(current_app.extensions["cprflow.db"], int(user_id)) if isinstance(user_id, int) else None
    if user is None or user.disabled or user.token_version != token_version:
        raise Unauthenticated("this sign-in is no longer valid; sign in again")
    return user


def current_user(*, pages: bool = False) -> UserView:
    """The caller: from ``Authorization: Bearer`` for the API, from the session cookie for pages.

    The API never honours the cookie, so a page visited in the same browser cannot be made to
    call it (no CSRF on the API); pages are covered by CSRF tokens instead.
    """
    if "cprflow_user" in g:
        return g.cprflow_user  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    if header and not pages:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        max_age = int(current_app.config["CPRFLOW"].token_hours * 3600)
        try:
            claims = _serializer().loads(token, max_age=max_age)
        except SignatureExpired:
            raise Unauthenticated("the token has expired; ask for a new one") from None
        except BadSignature:
            raise Unauthenticated("the token is not valid") from None
        user = _user_from(
            claims.get("u") if isinstance(claims, dict) else None, claims.get("v") if isinstance(claims, dict) else None
        )
    elif pages and "uid" in session:
        user = _user_from(session.get("uid"), session.get("tv"))
    else:
        raise Unauthenticated("sign in first")
    g.cprflow_user = user
    return user


def require_role(user: UserView, *roles: str) -> None:
    if not set(roles) & set(user.roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
