"""What the API's tests share: the sample's decision table, uploads, tokens and event kinds."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from cprflow.web import api as _api  # noqa: F401 - registers the operations
from tests.conftest import SAMPLE
from tests.web.conftest import password

Call = Callable[..., Any]
TRIAGE = (SAMPLE / "processes" / "triage.dmn").read_bytes()
CHANGED_TRIAGE = TRIAGE.replace(b"<description>High risk score</description>", b"<description>Very high</description>")
XXE_TRIAGE = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + TRIAGE.split(
    b"?>", 1
)[1].replace(b"High risk score", b"&xxe;")


def kinds(db: Database, instance_id: int) -> list[str]:
    return [e.kind for e in services.list_events(db, instance_id)]


def upload(*files: tuple[bytes, str]) -> dict[str, Any]:
    return {
        "data": {"files": [(io.BytesIO(content), name) for content, name in files]},
        "content_type": "multipart/form-data",
    }


def fresh_token(client: FlaskClient, username: str = "intake") -> str:
    """A token issued now (not the session's kept one)."""
    response = client.post("/api/auth/token", json={"username": username, "password": password(username)})
    assert response.status_code == 200
    return str(response.get_json()["token"])


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["error"]  # type: ignore[no-any-return]
