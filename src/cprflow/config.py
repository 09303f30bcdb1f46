"""Settings: every CPRFLOW_* environment variable is read here and nowhere else."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "nan" or "inf" would quietly lift a bound (no step ever times out)
        raise SystemExit(f"{name} must be a number, got {raw!r}")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    #: SQLAlchemy URL; SQLite (WAL) by default, PostgreSQL for several workers.
    database_url: str = "sqlite:///var/cprflow.db"
    processes_dir: Path = Path("processes")
    forms_dir: Path = Path("forms")
    #: Longest any single engine step (start, completion, message, timer) may run diagram code.
    step_seconds: float = 5.0
    #: Most memory (MiB of address space) the process may grow by while an engine step runs
    #: diagram code; past it the step fails as ScriptFailed. 0 turns the limit off.
    step_memory_mb: float = 1024.0
    #: Workflows each worker keeps live after saving them, so the next step on the same review
    #: need not restore them from their saved state (0: restore every time).
    live_workflows: int = 64
    #: Longest the timer worker sleeps before looking again for due timers.
    timer_poll_seconds: float = 1.0
    host: str = "127.0.0.1"
    port: int = 5000
    #: Signs API tokens and session cookies; from the environment only, never from a file in git.
    secret_key: str | None = None
    token_hours: float = 8.0
    #: A page session ends after this many minutes without a request, and this many hours after sign-in.
    session_idle_minutes: float = 60.0
    session_hours: float = 8.0
    #: Consecutive failed sign-ins that lock an account, and for how long (0 attempts: never lock).
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    #: Failed sign-ins from one client address within lockout_minutes (any usernames) before that
    #: address is refused for as long (0: no limit).
    address_attempts: int = 30
    #: Reverse proxies in front of the app whose X-Forwarded-For names the client (0: use the peer).
    trusted_proxies: int = 0
    #: Largest request body accepted (uploads of diagram sets included).
    max_request_bytes: int = 5 * 1024 * 1024
    #: Largest document (report, timeline, briefing) one upload may carry; upload routes alone accept
    #: requests this large, everything else keeps max_request_bytes.
    max_document_bytes: int = 20 * 1024 * 1024
    #: Bounds on reading an uploaded document's text (a child process): seconds and MiB of memory.
    extract_seconds: float = 30.0
    extract_memory_mb: float = 512.0
    #: Set only behind HTTPS (production): cookies are then sent over HTTPS only.
    secure_cookies: bool = False
    #: Optional OpenID Connect sign-in: the provider's issuer URL, this app's client id and secret.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    #: Provider groups to roles, e.g. "cpr-bu=business_unit,police-staff=agency:police".
    oidc_group_roles: str = ""
    oidc_groups_claim: str = "groups"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("CPRFLOW_DATABASE_URL", cls.database_url),
            processes_dir=Path(env.get("CPRFLOW_PROCESSES_DIR", "processes")),
            forms_dir=Path(env.get("CPRFLOW_FORMS_DIR", "forms")),
            step_seconds=_float("CPRFLOW_STEP_SECONDS", cls.step_seconds),
            step_memory_mb=_float("CPRFLOW_STEP_MEMORY_MB", cls.step_memory_mb),
            live_workflows=int(_float("CPRFLOW_LIVE_WORKFLOWS", cls.live_workflows)),
            timer_poll_seconds=_float("CPRFLOW_TIMER_POLL_SECONDS", cls.timer_poll_seconds),
            host=env.get("CPRFLOW_HOST", cls.host),
            port=int(_float("CPRFLOW_PORT", cls.port)),
            secret_key=env.get("CPRFLOW_SECRET_KEY") or None,
            token_hours=_float("CPRFLOW_TOKEN_HOURS", cls.token_hours),
            session_idle_minutes=_float("CPRFLOW_SESSION_IDLE_MINUTES", cls.session_idle_minutes),
            session_hours=_float("CPRFLOW_SESSION_HOURS", cls.session_hours),
            lockout_attempts=int(_float("CPRFLOW_LOCKOUT_ATTEMPTS", cls.lockout_attempts)),
            lockout_minutes=_float("CPRFLOW_LOCKOUT_MINUTES", cls.lockout_minutes),
            address_attempts=int(_float("CPRFLOW_ADDRESS_ATTEMPTS", cls.address_attempts)),
            trusted_proxies=int(_float("CPRFLOW_TRUSTED_PROXIES", cls.trusted_proxies)),
            max_request_bytes=int(_float("CPRFLOW_MAX_REQUEST_BYTES", cls.max_request_bytes)),
            max_document_bytes=int(_float("CPRFLOW_MAX_DOCUMENT_BYTES", cls.max_document_bytes)),
            extract_seconds=_float("CPRFLOW_EXTRACT_SECONDS", cls.extract_seconds),
            extract_memory_mb=_float("CPRFLOW_EXTRACT_MEMORY_MB", cls.extract_memory_mb),
            secure_cookies=_flag("CPRFLOW_SECURE_COOKIES"),
            oidc_issuer=env.get("CPRFLOW_OIDC_ISSUER") or None,
            oidc_client_id=env.get("CPRFLOW_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("CPRFLOW_OIDC_CLIENT_SECRET") or None,
            oidc_group_roles=env.get("CPRFLOW_OIDC_GROUP_ROLES", ""),
            oidc_groups_claim=env.get("CPRFLOW_OIDC_GROUPS_CLAIM", "groups"),
        )


@dataclass(frozen=True)
class MailSettings:
    """Email: the SMTP server, the sender, the link base, and how the notification worker retries."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 30.0
    mail_from: str = "cprflow@localhost"
    #: Where links in emails point: the address staff reach this service at.
    base_url: str = "http://127.0.0.1:5000"
    #: Sends per message before it is marked failed, and the first wait (doubling each time).
    max_attempts: int = 5
    backoff_seconds: float = 60.0
    #: How long a message may stay "sending" before admins are shown it as in doubt.
    in_doubt_seconds: float = 600.0
    poll_seconds: float = 5.0
    #: Hour (UTC) after which the day before's held notifications go out as one digest per person.
    digest_hour: int = 7

    @classmethod
    def from_env(cls) -> MailSettings:
        env = os.environ
        return cls(
            smtp_host=env.get("CPRFLOW_SMTP_HOST", cls.smtp_host),
            smtp_port=int(_float("CPRFLOW_SMTP_PORT", cls.smtp_port)),
            smtp_user=env.get("CPRFLOW_SMTP_USER") or None,
            smtp_password=env.get("CPRFLOW_SMTP_PASSWORD") or None,
            smtp_starttls=_flag("CPRFLOW_SMTP_STARTTLS"),
            smtp_timeout=_float("CPRFLOW_SMTP_TIMEOUT", cls.smtp_timeout),
            mail_from=env.get("CPRFLOW_SMTP_FROM", cls.mail_from),
            base_url=env.get("CPRFLOW_BASE_URL", cls.base_url).rstrip("/"),
            max_attempts=int(_float("CPRFLOW_NOTIFY_MAX_ATTEMPTS", cls.max_attempts)),
            backoff_seconds=_float("CPRFLOW_NOTIFY_BACKOFF_SECONDS", cls.backoff_seconds),
            in_doubt_seconds=_float("CPRFLOW_NOTIFY_IN_DOUBT_SECONDS", cls.in_doubt_seconds),
            poll_seconds=_float("CPRFLOW_NOTIFY_POLL_SECONDS", cls.poll_seconds),
            digest_hour=int(_float("CPRFLOW_NOTIFY_DIGEST_HOUR", cls.digest_hour)),
        )
