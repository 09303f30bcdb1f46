"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when its URL is given)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cprflow import bootstrap, services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set

# The features plug into the engine, the deploy check and the store as every entry point does.
bootstrap.install()

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "sample"
POSTGRES_URL = os.environ.get("CPRFLOW_TEST_POSTGRES_URL")
NO_POSTGRES = "PostgreSQL tests need CPRFLOW_TEST_POSTGRES_URL (set by .ci/run)"

#: Time in tests is chosen, never read: scenarios travel from here.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sample_diagrams() -> diagram_set.DiagramSet:
    return diagram_set.read_directories(SAMPLE / "processes", SAMPLE / "forms")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cprflow.db'}"


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a schema of their own, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test on both backends."""
    return request.getfixturevalue("db" if request.param == "sqlite" else "pg_db")


@pytest.fixture
def deployed(db: Database) -> Database:
    services.deploy(db, sample_diagrams(), actor="owner", now=T0)
    return db
