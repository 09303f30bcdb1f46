"""Optional OpenID Connect sign-in (authlib), configured by environment; groups map to roles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, url_for

from cprflow.config import Settings
from cprflow.core.errors import Unauthenticated
from cprflow.services import users
from cprflow.web.auth import begin_page_session

bp = Blueprint("oidc", __name__)


def parse_group_roles(text: str) -> dict[str, tuple[str, str | None]]:
    """``"grp=role,grp2=agency:police"`` -> {"grp": ("role", None), "grp2": ("agency", "police")}."""
    mapping: dict[str, tuple[str, str | None]] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        group, _, target = pair.partition("=")
        role, _, agency = target.partition(":")
        if not group or not role:
            raise SystemExit(f"CPRFLOW_OIDC_GROUP_ROLES: cannot read {pair!r} (want group=role or group=agency:NAME)")
        mapping[group.strip()] = (role.strip(), agency.strip() or None)
    return mapping


def roles_for(groups: Any, mapping: dict[str, tuple[str, str | None]]) -> tuple[list[str], str | None]:
    roles, agency = set(), None
    for group in groups if isinstance(groups, list) else []:
        if group in mapping:
            role, named_agency = mapping[group]
            roles.add(role)
            agency = named_agency or agency
    return sorted(roles), agency


def install(app: Flask, settings: Settings) -> None:
    if not settings.oidc_issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        "provider",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email"},
    )
    app.extensions["cprflow.oidc"] = (oauth, parse_group_roles(settings.oidc_group_roles))
    app.register_blueprint(bp)


@bp.get("/login/oidc")
def start() -> Any:
    oauth, _ = current_app.extensions["cprflow.oidc"]
    return oauth.provider.authorize_redirect(url_for("oidc.callback", _external=True))


@bp.get("/login/oidc/callback")
def callback() -> Any:
    oauth, mapping = current_app.extensions["cprflow.oidc"]
    token = oauth.provider.authorize_access_token()  # checks the ID token's signature, issuer, audience, nonce
    claims = token.get("userinfo") or {}
    settings: Settings = current_app.config["CPRFLOW"]
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject:
        raise Unauthenticated("the identity provider did not say who you are")
    roles, agency = roles_for(claims.get(settings.oidc_groups_claim), mapping)
    name = claims.get("preferred_username") or claims.get("email") or subject
    user = users.sign_in_external(
        current_app.extensions["cprflow.db"],
        users.Identity(
            issuer=issuer,
            subject=subject,
            preferred_username=str(name),
            display_name=str(claims.get("name") or name),
            roles=roles,
            agency=agency,
        ),
        now=datetime.now(UTC),
    )
    begin_page_session(user)
    return redirect(url_for("tasks.my_tasks"))
