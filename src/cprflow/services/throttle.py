"""Sign-in throttling: each attempt is counted, per account and per client address, in one write
transaction *before* its password is checked, so a burst of concurrent guesses cannot all be checked
against an account that the first few of them lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cprflow.db.models import SignInAddress, User

log = logging.getLogger("cprflow.services.users")  # lockouts are logged where they always were


@dataclass(frozen=True)
class Limits:
    """``attempts`` failures in a row lock an account for ``minutes``; ``address_attempts`` failures
    from one address within ``minutes`` (any usernames, unknown ones too) stop it for as long."""

    attempts: int = 5
    minutes: float = 15.0
    address_attempts: int = 30


def reserve_account(session: Session, user_id: int, limits: Limits, now: datetime) -> tuple[bool, int]:
    """Count this attempt on the account; (may the password be checked, the count after it)."""
    if limits.attempts <= 0:
        return True, 0
    # A lock that has run out starts the count afresh.
    session.execute(
        update(User).where(User.id == user_id, User.locked_until <= now).values(failed_sign_ins=0, locked_until=None)
    )
    locked_until = session.scalar(select(User.locked_until).where(User.id == user_id))
    if locked_until is not None and locked_until > now:
        return False, limits.attempts
    session.execute(update(User).where(User.id == user_id).values(failed_sign_ins=User.failed_sign_ins + 1))
    count = session.scalar(select(User.failed_sign_ins).where(User.id == user_id)) or 0
    if count > limits.attempts:  # others in this burst have used up the account's attempts
        lock_account(session, user_id, limits, now)
        return False, count
    return True, count


def lock_account(session: Session, user_id: int, limits: Limits, now: datetime) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id, User.locked_until.is_(None))
        .values(locked_until=now + timedelta(minutes=limits.minutes))
    )


def reserve_address(session: Session, address: str | None, limits: Limits, now: datetime) -> bool:
    """Count this attempt on the client address; False once the address has had too many failures."""
    if not address or limits.address_attempts <= 0:
        return True
    address = address[:64]
    window_start = now - timedelta(minutes=limits.minutes)
    session.execute(
        update(SignInAddress)
        .where(
            SignInAddress.address == address,
            SignInAddress.window_started_at <= window_start,
            (SignInAddress.locked_until.is_(None)) | (SignInAddress.locked_until <= now),
        )
        .values(failures=0, window_started_at=now, locked_until=None)
    )
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(SignInAddress)
        .values(address=address, failures=1, window_started_at=now, locked_until=None)
        .on_conflict_do_update(index_elements=["address"], set_={"failures": SignInAddress.failures + 1})
    )
    row = session.execute(
        select(SignInAddress.failures, SignInAddress.locked_until).where(SignInAddress.address == address)
    ).one()
    if row.locked_until is not None and row.locked_until > now:
        return False
    if row.failures > limits.address_attempts:
        session.execute(
            update(SignInAddress)
            .where(SignInAddress.address == address)
            .values(locked_until=now + timedelta(minutes=limits.minutes))
        )
        log.warning("sign-ins from one address refused for %s minutes after repeated failures", limits.minutes)
        return False
    return True


def refund_address(session: Session, address: str | None, limits: Limits) -> None:
    """A successful sign-in does not count against its address."""
    if address and limits.address_attempts > 0:
        session.execute(
            update(SignInAddress)
            .where(SignInAddress.address == address[:64], SignInAddress.failures > 0)
            .values(failures=SignInAddress.failures - 1)
        )
