"""Accounts: argon2 password hashes, roles, agency, language; sign-in checks."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ParamSpec

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cprflow.core.access import Actor
from cprflow.core.errors import InvalidData, NotFound, Unauthenticated
from cprflow.db.database import Database
from cprflow.db.models import ROLES, ExternalIdentity, User
from cprflow.db.store import record_event
from cprflow.features import agencies
from cprflow.services import throttle

_hasher = PasswordHasher()
LANGUAGES = ("en", "cy")
MIN_PASSWORD = 10
#: Consecutive failed sign-ins that lock an account, and for how long (Settings.lockout_*).
LOCKOUT_ATTEMPTS = 5
LOCKOUT_MINUTES = 15.0

log = logging.getLogger(__name__)
P = ParamSpec("P")

#: How long a worker trusts what it last read of an account when checking a request's token or
#: session. A password, role or status change (revoking every token issued before) takes effect at
#: once in the worker that makes it and within this many seconds in every other worker.
ACCOUNT_RECHECK_SECONDS = 5.0
_ACCOUNTS_KEPT = 10_000  # a worker forgets every account it has seen past this many
_accounts: dict[tuple[str, int], tuple[float, UserView | None]] = {}
_accounts_lock = threading.Lock()
_clock = time.monotonic  # tests move it on instead of waiting


def account(db: Database, user_id: int) -> UserView | None:
    """The account behind a request's token or session, read again at most every
    ``ACCOUNT_RECHECK_SECONDS``: most requests then spend no query on it."""
    key, now = (db.url, user_id), _clock()
    seen = _accounts.get(key)
    if seen is not None and now - seen[0] < ACCOUNT_RECHECK_SECONDS:
        return seen[1]
    user = get_user(db, user_id)
    with _accounts_lock:
        if len(_accounts) >= _ACCOUNTS_KEPT:
            _accounts.clear()
        _accounts[key] = (now, user)
    return user


def _refreshes_account(change: Callable[P, UserView]) -> Callable[P, UserView]:
    """After a change to an account, this worker reads it afresh on its next request."""

    @functools.wraps(change)
    def changed(*args: P.args, **kwargs: P.kwargs) -> UserView:
        view = change(*args, **kwargs)
        db = args[0] if args else kwargs["db"]
        assert isinstance(db, Database)
        with _accounts_lock:
            _accounts.pop((db.url, view.id), None)
        return view

    return changed


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    roles: list[str]
    agency: str | None
    language: str
    disabled: bool
    token_version: int

    @property
    def actor(self) -> Actor:
        return Actor(self.username, frozenset(self.roles), self.agency, self.display_name)


def _view(user: User) -> UserView:
    return UserView(
        user.id,
        user.username,
        user.display_name,
        list(user.roles),
        user.agency,
        user.language,
        user.disabled,
        user.token_version,
    )


def _check_roles(roles: list[str], agency: str | None) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidData(
            f"unknown role(s): {', '.join(unknown)}", fields={"/roles": [f"must be among {', '.join(ROLES)}"]}
        )
    if "agency" in roles and not agency:
        raise InvalidData(
            "agency staff need the agency they act for", fields={"/agency": ["is required for the agency role"]}
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidData("password too short", fields={"/password": [f"must be at least {MIN_PASSWORD} characters"]})


def add_user(
    db: Database,
    username: str,
    *,
    password: str,
    roles: list[str],
    now: datetime,
    display_name: str | None = None,
    agency: str | None = None,
    language: str = "en",
) -> UserView:
    _check_roles(roles, agency)
    _check_password(password)
    if language not in LANGUAGES:
        raise InvalidData("unknown language", fields={"/language": ["must be en or cy"]})
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise InvalidData(f"user '{username}' already exists", fields={"/username": ["is taken"]})
        agencies.check_account_agency(session, agency)
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            roles=sorted(set(roles)),
            agency=agency,
            language=language,
            disabled=False,
            token_version=1,
            created_at=now,
        )
        session.add(user)
        session.flush()
        return _view(user)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in: the provider (``issuer``) and its stable ``subject``,
    with what it says about them (a name to start from, a display name, the roles its groups map to)."""

    issuer: str
    subject: str
    preferred_username: str
    display_name: str
    roles: list[str]
    agency: str | None


def _identity_row(session: Session, issuer: str, subject: str) -> ExternalIdentity | None:
    return session.scalar(
        select(ExternalIdentity).where(ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject)
    )


def _free_username(session: Session, identity: Identity) -> str:
    """The provider's name for the person if no account has it, else that name made unique: a new
    identity never takes over the account of whoever already holds the name."""
    base = (identity.preferred_username.strip() or identity.subject)[:180]
    if session.scalar(select(User.id).where(User.username == base)) is None:
        return base
    digest = hashlib.sha256(f"{identity.issuer}\n{identity.subject}".encode()).hexdigest()
    return f"{base}-{digest[:10]}"


@_refreshes_account
def sign_in_external(db: Database, identity: Identity, *, now: datetime) -> UserView:
    """The account bound to the provider identity (``issuer``, ``subject``); made on first sign-in.

    Accounts are found by that binding only, never by a name or email the provider sends, so no
    provider identity can take over an account it was not bound to. An account made here has no
    password and its roles follow the provider's groups; a local account an administrator linked
    (``link_identity``) keeps the roles given here."""
    with db.transaction() as session:
        bound = _identity_row(session, identity.issuer, identity.subject)
        if bound is None:
            if not identity.roles:
                raise Unauthenticated("your account has no role in cprflow; ask an administrator")
            _check_roles(identity.roles, identity.agency)
            user = User(
                username=_free_username(session, identity),
                display_name=identity.display_name[:200],
                password_hash=None,
                roles=sorted(set(identity.roles)),
                agency=identity.agency,
                language="en",
                disabled=False,
                token_version=1,
                created_at=now,
            )
            session.add(user)
            session.flush()
            session.add(
                ExternalIdentity(
                    user_id=user.id,
                    issuer=identity.issuer,
                    subject=identity.subject,
                    provider_roles=True,
                    linked_at=now,
                    linked_by="sign-in",
                )
            )
            record_event(
                session,
                None,
                "account_created",
                user.username,
                now,
                {"username": user.username, "issuer": identity.issuer, "subject": identity.subject},
            )
            return _view(user)
        found = session.get(User, bound.user_id)
        if found is None or found.disabled:
            raise Unauthenticated("this account is disabled")
        user = found
        if bound.provider_roles:
            if not identity.roles:
                raise Unauthenticated("your account has no role in cprflow; ask an administrator")
            _check_roles(identity.roles, identity.agency)
            if sorted(set(identity.roles)) != sorted(user.roles) or identity.agency != user.agency:
                user.roles, user.agency = sorted(set(identity.roles)), identity.agency
                user.token_version += 1
        session.flush()
        return _view(user)


def link_identity(db: Database, username: str, issuer: str, subject: str, *, actor: str, now: datetime) -> UserView:
    """An administrator binds a provider identity to an existing account, so that person signs in
    through the provider as that account; the account keeps its own roles. Recorded as an event."""
    if not issuer.strip() or not subject.strip():
        raise InvalidData("give the provider's issuer and the person's subject", fields={"/subject": ["is required"]})
    with db.transaction() as session:
        user = _user(session, username)
        bound = _identity_row(session, issuer, subject)
        if bound is not None:
            holder = session.get(User, bound.user_id)
            raise InvalidData(
                f"that identity is already linked to '{holder.username if holder else bound.user_id}'",
                fields={"/subject": ["is linked to another account; unlink it first"]},
            )
        session.add(
            ExternalIdentity(
                user_id=user.id, issuer=issuer, subject=subject, provider_roles=False, linked_at=now, linked_by=actor
            )
        )
        record_event(
            session, None, "identity_linked", actor, now, {"username": username, "issuer": issuer, "subject": subject}
        )
        return _view(user)


def unlink_identity(db: Database, issuer: str, subject: str, *, actor: str, now: datetime) -> None:
    """Remove a provider identity's binding (its account stays); recorded as an event."""
    with db.transaction() as session:
        bound = _identity_row(session, issuer, subject)
        if bound is None:
            raise NotFound("no account is linked to that identity")
        holder = session.get(User, bound.user_id)
        session.delete(bound)
        record_event(
            session,
            None,
            "identity_unlinked",
            actor,
            now,
            {"username": holder.username if holder else None, "issuer": issuer, "subject": subject},
        )


@_refreshes_account
def set_password(db: Database, username: str, password: str) -> UserView:
    _check_password(password)
    with db.transaction() as session:
        user = _user(session, username)
        user.password_hash = _hasher.hash(password)
        user.token_version += 1
        return _view(user)


@_refreshes_account
def set_roles(db: Database, username: str, roles: list[str], agency: str | None = None) -> UserView:
    with db.transaction() as session:
        user = _user(session, username)
        agency = agency if agency is not None else user.agency
        _check_roles(roles, agency)
        if agency != user.agency:
            agencies.check_account_agency(session, agency)
        user.roles, user.agency = sorted(set(roles)), agency
        user.token_version += 1
        return _view(user)


@_refreshes_account
def set_disabled(db: Database, username: str, disabled: bool = True) -> UserView:
    with db.transaction() as session:
        user = _user(session, username)
        user.disabled = disabled
        user.token_version += 1
        return _view(user)


@_refreshes_account
def set_language(db: Database, user_id: int, language: str) -> UserView:
    if language not in LANGUAGES:
        raise InvalidData("unknown language", fields={"/language": ["must be en or cy"]})
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        user.language = language
        return _view(user)


def authenticate(
    db: Database,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    lockout_attempts: int = LOCKOUT_ATTEMPTS,
    lockout_minutes: float = LOCKOUT_MINUTES,
    address: str | None = None,
    address_attempts: int = throttle.Limits.address_attempts,
) -> UserView:
    """The user if the password is right, the account enabled and not locked; one vague error otherwise.

    Each attempt is counted on the account (and on the client ``address``) in the database before
    the password is checked, so the count holds across web workers and concurrent guesses: only
    the first ``lockout_attempts`` of a burst are checked, the rest are refused unchecked, and that
    many failures in a row lock the account for ``lockout_minutes``; a success resets the count. A
    locked account gets the same answer as a wrong password (and pays for a hash all the same), so
    an attacker cannot tell that guessing has stopped working; the log says so.
    """
    now = now or datetime.now(UTC)
    limits = throttle.Limits(lockout_attempts, lockout_minutes, address_attempts)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        view = _view(user) if user is not None else None
        stored = user.password_hash if user is not None else None
        countable = view is not None and stored is not None and not view.disabled
        address_ok = throttle.reserve_address(session, address, limits, now)
        account_ok, count = (True, 0)
        if countable and address_ok:
            assert view is not None
            account_ok, count = throttle.reserve_account(session, view.id, limits, now)
    usable = countable and address_ok and account_ok
    try:
        # Unknown, disabled and locked accounts still pay for a hash, so timing does not reveal them.
        _hasher.verify(stored if usable and stored is not None else _dummy_hash(), password)
        if not usable:
            raise VerificationError
    except (VerificationError, InvalidHashError):
        if countable and not account_ok:
            log.warning("sign-in refused: account %r is locked after repeated failures", username)
        elif usable and 0 < lockout_attempts <= count:
            assert view is not None
            with db.transaction() as session:
                throttle.lock_account(session, view.id, limits, now)
            log.warning("account %r locked for %s minutes after %d failed sign-ins", username, lockout_minutes, count)
        raise Unauthenticated("wrong username or password") from None
    assert view is not None  # usable implies an account
    with db.transaction() as session:
        session.execute(update(User).where(User.id == view.id).values(failed_sign_ins=0, locked_until=None))
        throttle.refund_address(session, address, limits)
    return view


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash("no account has this password"))
    return _dummy[0]


_USER_COLUMNS = [
    User.__table__.c[name]
    for name in ("id", "username", "display_name", "roles", "agency", "language", "disabled", "token_version")
]


def get_user(db: Database, user_id: int) -> UserView | None:
    """The account as stored now: one plain query, no ORM identity map."""
    with db.transaction(write=False) as session:
        row = session.connection().execute(select(*_USER_COLUMNS).where(User.__table__.c.id == user_id)).first()
        return (
            None
            if row is None
            else UserView(
                row.id,
                row.username,
                row.display_name,
                list(row.roles),
                row.agency,
                row.language,
                row.disabled,
                row.token_version,
            )
        )


def list_users(db: Database) -> list[UserView]:
    with db.transaction(write=False) as session:
        return [_view(u) for u in session.scalars(select(User).order_by(User.username))]


def names_of(session: Session, usernames: set[str | None]) -> dict[str, str]:
    """Username -> the name people know them by, for those of ``usernames`` that are accounts with
    one (a system actor such as the timer worker has none: callers show it by its own name)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
    return {r.username: r.display_name for r in rows if r.display_name}


def display_names(db: Database, usernames: set[str]) -> dict[str, str]:
    """``names_of`` in a transaction of its own, for pages."""
    with db.transaction(write=False) as session:
        return names_of(session, set(usernames))
