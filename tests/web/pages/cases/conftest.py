"""Fixtures of the case pages: the repository's diagrams deployed and the people of ``world.PEOPLE``,
made once per session in a template file that each test copies (hashing passwords is slow)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import create_app
from tests.conftest import T0
from tests.web.conftest import make_settings, seal
from tests.web.pages.cases.world import PASSWORD, PEOPLE


@pytest.fixture(scope="session")
def people_file(review_set_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("caseworld") / "people.db"
    shutil.copyfile(review_set_file, path)
    database = Database(f"sqlite:///{path}")
    for username, (roles, agency) in PEOPLE.items():
        users.add_user(
            database, username, password=PASSWORD, roles=roles, agency=agency, now=T0, display_name=username.title()
        )
    seal(database)
    return path


@pytest.fixture
def url(people_file: Path, tmp_path: Path) -> str:
    path = tmp_path / "cprflow.db"
    shutil.copyfile(people_file, path)
    return f"sqlite:///{path}"


@pytest.fixture
def case_db(url: str) -> Iterator[Database]:
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def case_app(case_db: Database) -> Flask:
    return create_app(make_settings(case_db.url), db=case_db)


@pytest.fixture
def client(case_app: Flask) -> FlaskClient:
    return case_app.test_client()
