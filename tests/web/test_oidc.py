"""OpenID Connect sign-in against a small provider of our own on a loopback port."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse
from urllib.request import HTTPRedirectHandler, Request, build_opener

import pytest
from flask import Flask, jsonify, redirect, request
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import create_app
from cprflow.web.oidc import parse_group_roles, roles_for
from tests.conftest import T0, sample_diagrams

CLIENT_ID, CLIENT_SECRET = "cprflow-test", "provider-secret"


class Provider:
    """Just enough of an OpenID provider: discovery, authorize, token, keys."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.codes: dict[str, str] = {}
        self.person: dict[str, Any] = {}
        self.app = Flask("provider")
        self.app.add_url_rule("/.well-known/openid-configuration", view_func=self.discovery)
        self.app.add_url_rule("/authorize", view_func=self.authorize)
        self.app.add_url_rule("/token", view_func=self.token, methods=["POST"])
        self.app.add_url_rule("/jwks", view_func=self.jwks)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"

    def discovery(self) -> Any:
        return jsonify(
            issuer=self.issuer,
            authorization_endpoint=f"{self.issuer}/authorize",
            token_endpoint=f"{self.issuer}/token",
            jwks_uri=f"{self.issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
        )

    def authorize(self) -> Any:
        assert request.args["client_id"] == CLIENT_ID
        code = secrets.token_urlsafe(8)
        self.codes[code] = request.args.get("nonce", "")
        return redirect(f"{request.args['redirect_uri']}?{urlencode({'code': code, 'state': request.args['state']})}")

    def token(self) -> Any:
        nonce = self.codes.pop(request.form["code"])
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce, **self.person}
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
        return jsonify(access_token="at", token_type="Bearer", expires_in=300, id_token=id_token)

    def jwks(self) -> Any:
        return jsonify(keys=[self.key.as_dict(private=False)])


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    thread = threading.Thread(target=p.server.serve_forever, daemon=True)
    thread.start()
    yield p
    p.server.shutdown()


@pytest.fixture
def client(tmp_path: Path, provider: Provider) -> FlaskClient:
    db = Database(f"sqlite:///{tmp_path / 'oidc.db'}")
    db.upgrade()
    services.deploy(db, sample_diagrams(), actor="owner", now=T0)
    settings = Settings(
        database_url=db.url,
        secret_key="oidc-" + "x" * 30,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_group_roles="cpr-intake=business_unit,police-staff=agency:police",
    )
    return create_app(settings, db=db).test_client()


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def _sign_in(client: FlaskClient, provider: Provider, person: dict[str, Any]) -> Any:
    provider.person = person
    to_provider = client.get("/login/oidc")
    assert to_provider.status_code == 302 and to_provider.location.startswith(provider.issuer)
    try:  # the browser's part: visit the provider, which sends it back with a code
        build_opener(_NoRedirect).open(Request(to_provider.location))
        raise AssertionError("the provider did not redirect back")
    except Exception as err:
        back = err.headers["Location"]  # type: ignore[attr-defined]
    parsed = urlparse(back)
    assert parse_qs(parsed.query)["code"]
    return client.get(f"{parsed.path}?{parsed.query}")


def test_provider_groups_become_roles_and_the_person_is_signed_in(client: FlaskClient, provider: Provider) -> None:
    response = _sign_in(
        client,
        provider,
        {"sub": "u-1", "preferred_username": "ffion", "name": "Ffion Evans", "groups": ["cpr-intake", "unrelated"]},
    )
    assert response.status_code == 302 and response.location.endswith("/tasks")
    assert client.get("/tasks").status_code == 200
    db = client.application.extensions["cprflow.db"]
    (ffion,) = [u for u in users.list_users(db) if u.username == "ffion"]
    assert ffion.roles == ["business_unit"] and ffion.display_name == "Ffion Evans"


def test_agency_groups_carry_the_agency_and_roles_follow_the_provider(client: FlaskClient, provider: Provider) -> None:
    _sign_in(client, provider, {"sub": "u-2", "preferred_username": "pc42", "groups": ["police-staff"]})
    db = client.application.extensions["cprflow.db"]
    (pc,) = [u for u in users.list_users(db) if u.username == "pc42"]
    assert (pc.roles, pc.agency) == (["agency"], "police")
    _sign_in(client, provider, {"sub": "u-2", "preferred_username": "pc42", "groups": ["cpr-intake"]})
    (pc,) = [u for u in users.list_users(db) if u.username == "pc42"]
    assert pc.roles == ["business_unit"]


def test_people_without_a_mapped_group_are_not_let_in(client: FlaskClient, provider: Provider) -> None:
    response = _sign_in(client, provider, {"sub": "u-3", "preferred_username": "visitor", "groups": ["other"]})
    assert response.status_code == 401
    assert client.get("/tasks").status_code == 302
    assert not [u for u in users.list_users(client.application.extensions["cprflow.db"]) if u.username == "visitor"]


def test_group_mapping_is_read_from_its_setting() -> None:
    mapping = parse_group_roles("a=business_unit, b=agency:health")
    assert roles_for(["b", "a", "z"], mapping) == (["agency", "business_unit"], "health")
    with pytest.raises(SystemExit):
        parse_group_roles("nonsense")


def test_without_an_issuer_there_is_no_provider_sign_in(db: Database) -> None:
    app = create_app(Settings(database_url=db.url, secret_key="x" * 32), db=db)
    assert app.test_client().get("/login/oidc").status_code == 404
    assert "organisation" not in app.test_client().get("/login").text
