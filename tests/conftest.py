"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when its URL is given)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cprflow import bootstrap, services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set

# The features plug into the engine, the deploy check and the store as every entry point does.
bootstrap.install()

# A review with documents, built once and copied per test (web and security tests use it).
pytest_plugins = ["tests.web.casefiles_world"]

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


def _template(path: Path, prepare: Callable[[Database], None]) -> Path:
    """A database file prepared once per test session; tests start from a copy of it."""
    database = Database(f"sqlite:///{path}")
    prepare(database)
    database.dispose()  # the last connection closes: the write-ahead log is folded into the file
    return path


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory.mktemp("templates") / "migrated.db", Database.upgrade)


@pytest.fixture(scope="session")
def deployed_file(tmp_path_factory: pytest.TempPathFactory, migrated_file: Path) -> Path:
    path = tmp_path_factory.mktemp("templates") / "deployed.db"
    shutil.copyfile(migrated_file, path)
    return _template(path, lambda database: services.deploy(database, sample_diagrams(), actor="owner", now=T0))


def _copy_of(template: Path, url: str) -> Database:
    shutil.copyfile(template, url.removeprefix("sqlite:///"))
    return Database(url)


@pytest.fixture(scope="session")
def review_set_file(tmp_path_factory: pytest.TempPathFactory, migrated_file: Path) -> Path:
    """The real processes/ and forms/ deployed as version 1 (by "owner", 2026-01-01: ``cpr.deploy``)."""
    from tests.scenarios import cpr

    path = tmp_path_factory.mktemp("templates") / "review_set.db"
    shutil.copyfile(migrated_file, path)
    return _template(path, lambda database: cpr.deploy(database.url) and None)


@pytest.fixture
def db(sqlite_url: str, migrated_file: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite database (a copy of one migrated once per session)."""
    database = _copy_of(migrated_file, sqlite_url)
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
def review_db(sqlite_url: str, review_set_file: Path) -> Iterator[Database]:
    """A fresh SQLite database with the real review diagrams deployed, as ``cpr.deploy`` leaves it."""
    database = _copy_of(review_set_file, sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def deployed(sqlite_url: str, deployed_file: Path) -> Iterator[Database]:
    """A fresh SQLite database with the sample diagrams deployed as version 1 (by "owner" at T0)."""
    database = _copy_of(deployed_file, sqlite_url)
    yield database
    database.dispose()
