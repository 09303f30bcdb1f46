"""Provider sign-in binds accounts to (issuer, subject): a name or email the provider sends never
finds, adopts or changes an existing account; linking a local account is an administrator's
recorded act (``cprflow users link``)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from cprflow.cli import main
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.services import users
from tests.conftest import T0
from tests.web.test_oidc import Provider, _sign_in, client, provider  # noqa: F401 - the fixtures

PASSWORD = "a long local password"


def _db(client: FlaskClient) -> Database:  # noqa: F811
    return client.application.extensions["cprflow.db"]  # type: ignore[no-any-return]


def _account(client: FlaskClient, username: str) -> users.UserView:  # noqa: F811
    (found,) = [u for u in users.list_users(_db(client)) if u.username == username]
    return found


def _signed_in_as(client: FlaskClient) -> Any:  # noqa: F811
    with client.session_transaction() as session:
        uid = session.get("uid")
    return next((u.username for u in users.list_users(_db(client)) if u.id == uid), None)


def test_a_provider_name_of_a_local_reviewer_does_not_open_that_account(
    client: FlaskClient,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    users.add_user(_db(client), "rev.lewis", password=PASSWORD, roles=["reviewer"], now=T0)
    before = _account(client, "rev.lewis")
    response = _sign_in(
        client, provider, {"sub": "intruder", "preferred_username": "rev.lewis", "groups": ["cpr-intake"]}
    )
    assert response.status_code == 302
    assert _signed_in_as(client) not in (None, "rev.lewis")
    assert _account(client, "rev.lewis") == before  # roles, token version: untouched
    assert users.authenticate(_db(client), "rev.lewis", PASSWORD).username == "rev.lewis"  # password kept


def test_an_email_naming_the_admin_neither_adopts_nor_demotes_it(
    client: FlaskClient,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    users.add_user(_db(client), "admin", password=PASSWORD, roles=["admin"], now=T0)
    _sign_in(client, provider, {"sub": "someone", "email": "admin", "groups": ["police-staff"]})
    admin = _account(client, "admin")
    assert (admin.roles, admin.agency, admin.token_version) == (["admin"], None, 1)
    assert _signed_in_as(client) != "admin"


def test_the_same_subject_is_the_same_account_whatever_name_it_sends(
    client: FlaskClient,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    _sign_in(client, provider, {"sub": "u-9", "preferred_username": "ffion", "groups": ["cpr-intake"]})
    _sign_in(client, provider, {"sub": "u-9", "preferred_username": "ffion.evans", "groups": ["cpr-intake"]})
    assert _signed_in_as(client) == "ffion"
    assert not [u for u in users.list_users(_db(client)) if u.username == "ffion.evans"]


def test_an_admin_links_a_local_account_which_keeps_its_roles(
    client: FlaskClient,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    db = _db(client)
    users.add_user(db, "rev.lewis", password=PASSWORD, roles=["reviewer"], now=T0)
    env = {"CPRFLOW_DATABASE_URL": db.url}
    args = ["users", "link", "rev.lewis", "--issuer", provider.issuer, "--subject", "lewis-at-idp", "--as", "admin1"]
    linked = CliRunner().invoke(main, args, env=env)
    assert linked.exit_code == 0, linked.output
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code != 0 and "already linked" in again.stderr
    _sign_in(client, provider, {"sub": "lewis-at-idp", "preferred_username": "x", "groups": ["cpr-intake"]})
    assert _signed_in_as(client) == "rev.lewis"
    assert _account(client, "rev.lewis").roles == ["reviewer"]  # the provider's groups do not rewrite them
    with db.transaction(write=False) as session:
        (event,) = session.scalars(select(Event).where(Event.kind == "identity_linked")).all()
    assert event.actor == "admin1" and event.detail["username"] == "rev.lewis"
    unlinked = CliRunner().invoke(
        main, ["users", "unlink", "--issuer", provider.issuer, "--subject", "lewis-at-idp"], env=env
    )
    assert unlinked.exit_code == 0, unlinked.output
    _sign_in(client, provider, {"sub": "lewis-at-idp", "preferred_username": "rev.lewis", "groups": ["cpr-intake"]})
    assert _signed_in_as(client) not in (None, "rev.lewis")
