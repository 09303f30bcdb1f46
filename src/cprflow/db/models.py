"""Tables: deployed versions, instances with their state, the open-task index and the event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive-in-UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


Json = JSON().with_variant(JSONB(), "postgresql")

STATUSES = ("running", "waiting", "completed", "error", "suspended", "terminated")
ACTIVE_STATUSES = ("running", "waiting")


class Base(DeclarativeBase):
    pass


class ProcessVersion(Base):
    """One deploy: the whole diagram set, its parsed specs, who deployed it and when."""

    __tablename__ = "process_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict[str, str]] = mapped_column(Json)
    processes: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    specs: Mapped[bytes] = mapped_column(LargeBinary)
    #: Why it was deployed, in the deployer's words (required from the modeler; optional elsewhere).
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: New instances start on the version with the highest rank: each deploy, and each explicit
    #: "make version N current", takes the next rank (migration 0015 ranked older versions by id).
    current_rank: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Draft(Base):
    """A process owner's undeployed edit of one file, kept on the server until deployed or discarded.

    ``revision`` counts saves, so a save from a stale tab is refused instead of overwriting a newer
    one; ``base_version_id`` is the version the edit began from, so a deploy can tell when someone
    else has deployed a change to the same file since."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"), nullable=True)
    revision: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("owner", "path", name="uq_drafts_owner_path"),)


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(20))  # no index of its own: see ix_instances_due
    state: Mapped[bytes] = mapped_column(LargeBinary)
    serializer_version: Mapped[str] = mapped_column(String(20))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    waiting_for: Mapped[list[str]] = mapped_column(Json, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The timer query must walk this index; an index on status would tempt SQLite's planner into
    # scanning every waiting instance instead (measured: 4x slower at 10,000 idle instances).
    __table_args__ = (Index("ix_instances_due", "next_timer_at"),)


class UserTask(Base):
    """The task index: user tasks as they become ready and as they close, kept in step with the
    instance in the same transaction, so task lists never deserialize an instance."""

    __tablename__ = "user_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    form: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ui_form: Mapped[str | None] = mapped_column(String(300), nullable=True)
    instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When it stopped being ready: completed, cancelled by a timer or message, or terminated.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    #: The task's data while it is open (what its form pre-fills and shows), written when it becomes
    #: ready (or its data is fixed) and cleared when it closes; NULL on rows from before 0009.
    data: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


ROLES = (
    "business_unit",
    "review_subgroup",
    "board_chair",
    "board_member",
    "panel_chair",
    "panel_member",
    "reviewer",
    "agency",
    "process_owner",
    "auditor",
    "admin",
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    roles: Mapped[list[str]] = mapped_column(Json, default=list)
    #: For agency staff: which agency they act for (matches the assignee of agency tasks).
    agency: Mapped[str | None] = mapped_column(String(200), nullable=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    disabled: Mapped[bool] = mapped_column(default=False)
    #: Bumped on password change or disabling, which revokes every token issued before.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Consecutive failed sign-ins, and until when the account is locked after too many. Kept in
    #: the database, not in a worker's memory, so the count holds across every web worker.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ExternalIdentity(Base):
    """An identity at an OpenID provider (``issuer``, ``subject``) bound to one account. Sign-in
    finds accounts only through this binding, never by a name or email the provider sends.
    ``provider_roles``: the account was made by the provider's sign-in and its roles follow the
    provider's groups; an existing local account linked by an administrator keeps its own roles."""

    __tablename__ = "external_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    provider_roles: Mapped[bool] = mapped_column(Boolean)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer_subject"),)


class PageSession(Base):
    """One signed-in browser: the cookie carries a random token whose SHA-256 is ``id``. Signing
    out ends it; it also ends after an idle and an absolute timeout (``services.sessions``)."""

    __tablename__ = "page_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInAddress(Base):
    """Failed sign-ins from one client address in the current window, whatever usernames they tried."""

    __tablename__ = "sign_in_addresses"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Event(Base):
    """Append-only trace: written in the same transaction as the change it records."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    #: Its place in the tamper-evident chain of its instance (audit.py; added by migration 0005).
    chain: Mapped[str | None] = mapped_column(String(40), nullable=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("uq_events_chain_seq", "chain", "seq", unique=True),)


class Blob(Base):
    """File content, stored once per distinct content and named by its SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Document(Base):
    """One version of a case document: a named slot of an instance (e.g. ``final_report``) whose
    content lives in ``blobs``; a new upload to the same slot is the next version, never an edit."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    #: Text extracted for search and checks; None when the format yields none.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Where reading its text stands (``features.extraction.STATUSES``): ``pending`` until the text is
    #: read after the upload commits, then ``extracted``, ``none`` (no text in it, e.g. a scan) or
    #: ``refused`` (it could not be read within the time, memory or length bounds: flagged).
    text_status: Mapped[str] = mapped_column(String(20), default="extracted")
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("instance_id", "slot", "version", name="uq_documents_slot_version"),)


class OutboxMessage(Base):
    """One email to one person, written in the same transaction as the change that caused it and
    sent later by the notification worker (notify.py). ``status``: pending -> sending -> sent, or
    back to pending with a later ``next_attempt_at``, or failed after the last attempt; ``held``
    waits for the recipient's daily digest, ``digested`` went out inside one. A row left
    ``sending`` by a killed worker is in doubt: never resent by itself, shown to admins."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    #: Stable per row, so a send retried by an admin can be recognised downstream.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    digest_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)


class TaskNotice(Base):
    """That a task's reminder (``due_soon``) or overdue notice was queued: one row per task and
    kind, so two workers scanning at once never queue it twice."""

    __tablename__ = "task_notices"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationSetting(Base):
    """Where and how a person gets email: their address and whether they want one daily digest."""

    __tablename__ = "notification_settings"

    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)


# ---------------------------------------------------------------------------------------------
# The hash chain over the event log (audit.py): each event's place in its chain is the columns
# ``chain``, ``seq``, ``prev_hash`` and ``hash`` on ``events`` (migration 0005); the head of each
# chain is mirrored here so that cutting events off the end of a chain is noticed too.


class WorkerBeat(Base):
    """A background worker's last sign of life: ``expires_at`` is when it counts as dead if it has
    not beaten again. A worker that stops cleanly removes its row."""

    __tablename__ = "worker_beats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChainHead(Base):
    __tablename__ = "event_chain_heads"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ReviewFiling(Base):
    """A review's learning as filed in the findings repository when its report was approved: one
    row per instance (a later approval of the same review replaces it). ``instance_id`` links back
    for the case's own readers and is never exported."""

    __tablename__ = "review_filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), unique=True)
    board: Mapped[str] = mapped_column(String(200), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    review_type: Mapped[str] = mapped_column(String(60))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_by: Mapped[str] = mapped_column(String(200))


class FilingTheme(Base):
    """A theme of the taxonomy (``processes/themes.json``) a filed review was tagged with."""

    __tablename__ = "filing_themes"

    filing_id: Mapped[int] = mapped_column(ForeignKey("review_filings.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class LearningItem(Base):
    """One finding, recommendation or action of a filed review; its text is indexed for full-text
    search (an FTS5 table on SQLite, a tsvector column with a GIN index on PostgreSQL: see
    ``findings.py`` and migration 0007, which keep those outside the models)."""

    __tablename__ = "learning_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("review_filings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
