"""Schemathesis against /api/openapi.json, in process (WSGI, no network): every documented operation
gets generated requests, valid and invalid, and must answer with no server error, with a status it
documents and with a body that fits the documented schema.

The caller holds broad roles (admin, intake, manager, process owner) so that most requests get past
access checks into validation and the services; the database has the sample deployed and a case in
review, so some generated ids find something. The run is bounded (a few dozen examples per operation,
no deadline) to take a minute or two on two cores.
"""

from __future__ import annotations

import json
import shutil
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from cprflow.db.database import Database
from cprflow.services import users
from cprflow.web import api, create_app, openapi
from tests.web.conftest import T0, in_review, make_settings, started

FUZZER = "fuzzer"
FUZZER_PASSWORD = "a password for the fuzzer"
#: The checks, in the shape of schemathesis.toml: no 5xx; only documented statuses, media types and
#: bodies; a 405 with an Allow header for undocumented methods. (Left out: positive_data_acceptance,
#: since the document does not say that NUL characters and some file names are refused; the stateful
#: checks, since the document declares no links.)
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "enabled": False,
            **{
                name: {"enabled": True}
                for name in (
                    "not_a_server_error",
                    "status_code_conformance",
                    "content_type_conformance",
                    "response_schema_conformance",
                    "unsupported_method",
                )
            },
        }
    }
)

_headers: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzzed_app(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    path = tmp_path_factory.mktemp("fuzz") / "cprflow.db"
    shutil.copyfile(template_db, path)
    db = Database(f"sqlite:///{path}")
    users.add_user(
        db,
        FUZZER,
        password=FUZZER_PASSWORD,
        now=T0,
        roles=["admin", "business_unit", "review_subgroup", "process_owner"],
    )
    in_review(db)
    started(db)
    app = create_app(make_settings(db.url), db=db)
    response = app.test_client().post("/api/auth/token", json={"username": FUZZER, "password": FUZZER_PASSWORD})
    assert response.status_code == 200
    _headers["Authorization"] = f"Bearer {response.get_json()['token']}"
    yield app
    db.dispose()


# The document is built from the route declarations alone (no app, no database), so it can be loaded
# when the module is; requests go to the module's app through the WSGI transport. (Schemathesis'
# fixture-based loader, which would serve /api/openapi.json from the app itself, does not work with
# pytest 9 yet; the document served is this one, see test_the_fuzzed_document_is_the_served_one.)
schema = schemathesis.openapi.from_dict(openapi.build(prefix=api.bp.url_prefix or ""), config=CONFIG)


@schema.parametrize()
# derandomize: the same examples on every run, so CI is not flaky; database=None: no .hypothesis/ in the tree.
@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_documented_contract(case: schemathesis.Case, fuzzed_app: Flask) -> None:
    case.call_and_validate(app=fuzzed_app, headers=_headers)


def test_the_fuzzed_document_is_the_served_one(fuzzed_app: Flask) -> None:
    served = fuzzed_app.test_client().get("/api/openapi.json").get_json()
    assert served == openapi.build(prefix=api.bp.url_prefix or "")
    assert len(list(schema.get_all_operations())) == sum(len(ops) for ops in served["paths"].values())


ERROR = {"error": {"code": "x", "message": "m", "fields": {}}}


@pytest.mark.parametrize(
    ("path", "status", "body", "failure"),
    [
        ("/api/processes", 500, ERROR, "Server error"),
        ("/api/processes", 418, ERROR, "Undocumented status code"),
        ("/api/processes", 200, {"version_id": "one", "processes": []}, "Response violates schema"),
        ("/api/processes", 401, {"error": {"code": "x"}}, "Response violates schema"),
        ("/api/processes", 401, ERROR, None),
        ("/api/instances", 422, ERROR, None),  # a valid request refused: not checked (see CONFIG)
    ],
)
def test_the_checks_catch_what_they_should(
    fuzzed_app: Flask,
    path: str,
    status: int,
    body: dict[str, Any],
    failure: str | None,
) -> None:
    """The run is not vacuous: the configured checks fail a 5xx, an undocumented status and a body
    that breaks its schema, and pass a documented answer."""
    probe = Flask("probe")
    probe.add_url_rule(path, "fake", lambda: (json.dumps(body), status, {"Content-Type": "application/json"}))
    response = probe.test_client().get(path)
    case = schema[path]["GET"].Case()
    if failure is None:
        case.validate_response(response)
        return
    with pytest.raises(BaseException) as caught:  # schemathesis' group of failures
        case.validate_response(response)
    assert failure in "".join(traceback.format_exception(caught.value))
