"""Accounts as an administrator and a person signing in meet them: bad accounts refused with the field
at fault and nothing stored, and every change to what an account may do ending its old sign-ins."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.core.errors import InvalidData, NotFound, Unauthenticated
from cprflow.db.database import Database
from cprflow.services import users
from tests.conftest import T0

PASSWORD = "a long enough password"


@pytest.fixture
def clerk(db: Database) -> users.UserView:
    return users.add_user(db, "clerk", password=PASSWORD, roles=["business_unit"], now=T0)


@pytest.mark.parametrize(
    ("options", "pointer"),
    [
        ({"roles": ["wizard"]}, "/roles"),
        ({"roles": ["agency"]}, "/agency"),  # agency staff need the agency they act for
        ({"roles": ["agency"], "agency": ""}, "/agency"),
        ({"password": "too short"}, "/password"),
        ({"language": "fr"}, "/language"),
        ({"username": "clerk"}, "/username"),  # taken
    ],
)
def test_a_bad_account_is_refused_naming_the_field_and_nothing_is_stored(
    db: Database, clerk: users.UserView, options: dict[str, Any], pointer: str
) -> None:
    asked: dict[str, Any] = {"username": "new", "password": PASSWORD, "roles": ["reviewer"], "now": T0, **options}
    with pytest.raises(InvalidData) as refused:
        users.add_user(db, asked.pop("username"), **asked)
    assert list(refused.value.fields) == [pointer]
    assert [u.username for u in users.list_users(db)] == ["clerk"]


def test_a_new_account_signs_in_with_its_roles_and_welsh_name(db: Database) -> None:
    made = users.add_user(
        db,
        "siân",
        password=PASSWORD,
        roles=["agency", "reviewer", "agency"],
        agency="health",
        display_name="Siân Ffion ap Rhys",
        language="cy",
        now=T0,
    )
    assert (made.roles, made.agency, made.language, made.disabled) == (["agency", "reviewer"], "health", "cy", False)
    signed_in = users.authenticate(db, "siân", PASSWORD, now=T0)
    assert signed_in == made and signed_in.actor.agency == "health"
    assert users.get_user(db, made.id) == made
    assert users.get_user(db, made.id + 1000) is None


@pytest.mark.parametrize(("username", "password"), [("clerk", "wrong password!"), ("nobody", PASSWORD), ("", "")])
def test_a_wrong_sign_in_gets_one_vague_answer(
    db: Database, clerk: users.UserView, username: str, password: str
) -> None:
    with pytest.raises(Unauthenticated, match="^wrong username or password$"):
        users.authenticate(db, username, password, now=T0)


def test_a_new_password_ends_old_sign_ins_and_the_old_password(db: Database, clerk: users.UserView) -> None:
    changed = users.set_password(db, "clerk", "another long password")
    assert changed.token_version == clerk.token_version + 1
    with pytest.raises(Unauthenticated):
        users.authenticate(db, "clerk", PASSWORD, now=T0)
    assert users.authenticate(db, "clerk", "another long password", now=T0).id == clerk.id
    with pytest.raises(InvalidData):
        users.set_password(db, "clerk", "short")
    assert users.get_user(db, clerk.id) == changed  # the refused change changed nothing


def test_new_roles_are_checked_and_end_old_sign_ins(db: Database, clerk: users.UserView) -> None:
    with pytest.raises(InvalidData) as refused:
        users.set_roles(db, "clerk", ["agency"])
    assert list(refused.value.fields) == ["/agency"]
    assert users.get_user(db, clerk.id) == clerk
    changed = users.set_roles(db, "clerk", ["agency"], agency="police")
    assert (changed.roles, changed.agency, changed.token_version) == (["agency"], "police", clerk.token_version + 1)


def test_a_disabled_account_cannot_sign_in_until_enabled(db: Database, clerk: users.UserView) -> None:
    disabled = users.set_disabled(db, "clerk")
    assert disabled.disabled and disabled.token_version == clerk.token_version + 1
    with pytest.raises(Unauthenticated, match="^wrong username or password$"):
        users.authenticate(db, "clerk", PASSWORD, now=T0)
    users.set_disabled(db, "clerk", False)
    assert users.authenticate(db, "clerk", PASSWORD, now=T0).id == clerk.id


def test_language_is_english_or_welsh(db: Database, clerk: users.UserView) -> None:
    assert users.set_language(db, clerk.id, "cy").language == "cy"
    with pytest.raises(InvalidData):
        users.set_language(db, clerk.id, "de")
    with pytest.raises(NotFound):
        users.set_language(db, clerk.id + 1000, "en")
    assert users.get_user(db, clerk.id).language == "cy"  # type: ignore[union-attr]


def test_changes_to_an_unknown_account_are_not_found(db: Database) -> None:
    for change in (
        lambda: users.set_password(db, "ghost", PASSWORD),
        lambda: users.set_roles(db, "ghost", ["reviewer"]),
        lambda: users.set_disabled(db, "ghost"),
    ):
        with pytest.raises(NotFound):
            change()
