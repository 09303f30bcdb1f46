"""The database: engines, transactions (the unit of work) and schema upgrades."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cprflow.core.errors import CprflowError

log = logging.getLogger(__name__)


class DatabaseUnavailable(CprflowError):
    code = "database_unavailable"


class DatabaseBusy(DatabaseUnavailable):
    """A lock was not granted in time (another writer held it): nothing was written; try again."""

    code = "database_busy"


#: ``session.info`` key of what to do once the session's transaction has committed (never on rollback).
AFTER_COMMIT = "cprflow_after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the transaction ``session`` is in has committed; not at all if it rolls back.
    What it raises is logged, not passed on: the transaction has committed by then."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


class Database:
    """One per process. ``transaction()`` is the only way services touch the database.

    ``lock_timeout``: the longest (seconds) a transaction waits for SQLite's write lock before it
    gives up as DatabaseBusy (PostgreSQL's lock_timeout, when set on the server, ends the same way)."""

    def __init__(self, url: str, *, echo: bool = False, lock_timeout: float = 30.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            _ensure_parent(url)
            options["connect_args"] = {"timeout": lock_timeout, "check_same_thread": False}
        self.engine: Engine = create_engine(url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine, lock_timeout)
        # Writes on SQLite take the write lock when they begin, so two writers queue instead of
        # failing mid-transaction; PostgreSQL relies on row locks and the version counter.
        self._writer = self.engine.execution_options(cprflow_write=True)

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Commit on success, roll back on any error: nothing is ever half-written."""
        session = Session(bind=self._writer if write else self.engine, expire_on_commit=False, autoflush=False)
        try:
            with session.begin():
                yield session
            for committed in session.info.pop(AFTER_COMMIT, ()):
                try:
                    committed()
                except Exception:  # the transaction stands: its caller must not be told it failed
                    log.exception("an action after a commit failed")
        except DBAPIError as err:
            if err.connection_invalidated or _is_disconnect(err):
                raise DatabaseUnavailable("the database is not reachable; try again shortly") from err
            if _is_busy(err):
                raise DatabaseBusy("the database is busy; try again shortly") from err
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


#: What drivers say when the server is gone, refuses, or is going away (psycopg, sqlite3).
_DISCONNECTED = (
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection failed",
    "could not connect",
    "connection reset",
    "connection timed out",
    "timeout expired",
    "connection is closed",
    "connection is lost",
    "the database system is shutting down",
    "the database system is starting up",
    "no route to host",
    "consuming input failed",
    "could not receive data",
    "could not send data",
)


def _is_disconnect(err: DBAPIError) -> bool:
    text = str(err.orig).lower()
    return any(s in text for s in _DISCONNECTED)


#: What drivers say when a lock wait ran out (SQLite's busy timeout; PostgreSQL's lock_timeout, 55P03).
_BUSY = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock")


def _is_busy(err: DBAPIError) -> bool:
    if getattr(err.orig, "sqlstate", None) == "55P03":
        return True
    text = str(err.orig).lower()
    return any(s in text for s in _BUSY)


def _ensure_parent(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("cprflow_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
