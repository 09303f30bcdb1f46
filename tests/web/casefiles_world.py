"""A real review for document tests: the repository's diagrams, one user per kind of access, and a
review at the agencies' timelines (lead reviewer appointed, agency tasks open, a draft on file).

Built once per session in a template file that each test copies; tokens stay valid on every copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import create_app
from tests.conftest import T0
from tests.fixtures import files
from tests.scenarios import cpr
from tests.web.conftest import make_settings, seal

PASSWORD = "a long test password"
#: username -> (roles, agency)
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "bu": (["business_unit"], None),
    "panel": (["panel_chair"], None),
    cpr.LEAD: (["reviewer"], None),  # appointed to the review
    "rev.other": (["reviewer"], None),  # not appointed
    "police": (["agency"], "police"),  # has an open timeline task
    "fire": (["agency"], "fire"),  # no task in this review
    "board": (["board_member"], None),
    "owner": (["process_owner"], None),
    "auditor": (["auditor"], None),
    "admin": (["admin"], None),
}
READERS = {"bu", "panel", cpr.LEAD, "auditor", "admin"}
DRAFT_TEXT = ("Draft report", "Agencies shared information late.")


@dataclass(frozen=True)
class World:
    path: Path
    review: int
    draft_id: int


@pytest.fixture(scope="session")
def docs_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("casefiles") / "cprflow.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    database.upgrade()
    database.dispose()
    cpr.deploy(url)
    r = cpr.Review.start(url)
    cpr.to_reviewers(r)
    cpr.accept_all(r)
    draft = r.upload("draft_report", files.pdf(*DRAFT_TEXT), "2026-02-01", filename="draft.pdf")
    database = Database(url)
    for username, (roles, agency) in PEOPLE.items():
        users.add_user(database, username, password=PASSWORD, roles=roles, agency=agency, now=T0)
    seal(database)
    return World(path, r.id, draft["document_id"])


@pytest.fixture
def docs_db(docs_world: World, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "cprflow.db"
    shutil.copyfile(docs_world.path, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def docs_app(docs_db: Database) -> Flask:
    return create_app(make_settings(docs_db.url, max_document_bytes=256 * 1024), db=docs_db)


@pytest.fixture
def docs_client(docs_app: Flask) -> FlaskClient:
    return docs_app.test_client()


_tokens: dict[str, str] = {}


@pytest.fixture
def bearer(docs_client: FlaskClient) -> Callable[[str], dict[str, str]]:
    def headers(username: str) -> dict[str, str]:
        if username not in _tokens:
            response = docs_client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.get_json()
            _tokens[username] = response.get_json()["token"]
        return {"Authorization": f"Bearer {_tokens[username]}"}

    return headers


BOUNDARY = "cprflow-test-boundary"


def multipart(slot: str, content: bytes, filename: str) -> bytes:
    """The body a browser would send (built here: the test client spools big bodies to files it leaves open)."""
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="slot"\r\n\r\n{slot}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def upload(
    client: FlaskClient, headers: dict[str, str], review: int, slot: str, content: bytes, filename: str = "report.pdf"
) -> Any:
    return client.post(
        f"/api/instances/{review}/documents",
        data=multipart(slot, content, filename),
        headers=headers,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
