"""Who is calling: bearer tokens for the API, the session cookie for pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from cprflow.core.errors import Forbidden, Unauthenticated
from cprflow.services import sessions, users
from cprflow.services.users import UserView

_SALT = "cprflow-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: UserView) -> tuple[str, datetime]:
    hours = current_app.config["CPRFLOW"].token_hours
    token = _serializer().dumps({"u": user.id, "v": user.token_version})
    return token, datetime.now(UTC) + timedelta(hours=hours)


def check_password(username: str, password: str) -> UserView:
    """Sign-in by password, throttled per account and per client address (Settings.lockout_*, address_attempts)."""
    settings = current_app.config["CPRFLOW"]
    return users.authenticate(
        current_app.extensions["cprflow.db"],
        username,
        password,
        lockout_attempts=settings.lockout_attempts,
        lockout_minutes=settings.lockout_minutes,
        address=request.remote_addr,
        address_attempts=settings.address_attempts,
    )


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
        if _page_session_user() != session.get("uid"):
            session.clear()
            raise Unauthenticated("your session has ended; sign in again")
        user = _user_from(session.get("uid"), session.get("tv"))
    else:
        raise Unauthenticated("sign in first")
    g.cprflow_user = user
    return user


def _timeouts() -> sessions.Timeouts:
    settings = current_app.config["CPRFLOW"]
    return sessions.Timeouts(idle_minutes=settings.session_idle_minutes, hours=settings.session_hours)


def _page_session_user() -> int | None:
    db = current_app.extensions["cprflow.db"]
    return sessions.resume(db, session.get("sid"), now=datetime.now(UTC), timeouts=_timeouts())


def begin_page_session(user: UserView) -> None:
    """Sign the browser in: a fresh cookie naming a new server-side session (never one from before)."""
    session.clear()
    token = sessions.start(current_app.extensions["cprflow.db"], user.id, now=datetime.now(UTC), timeouts=_timeouts())
    session.update(sid=token, uid=user.id, tv=user.token_version, lang=user.language)


def end_page_session() -> None:
    """Sign the browser out, and end its session on the server so a copied cookie is worthless."""
    sessions.end(current_app.extensions["cprflow.db"], session.get("sid"), now=datetime.now(UTC))
    session.clear()


def require_role(user: UserView, *roles: str) -> None:
    if not set(roles) & set(user.roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
