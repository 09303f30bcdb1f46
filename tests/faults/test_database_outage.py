"""Losing the database: requests get a clear 503 and the service carries on when it comes back.

PostgreSQL only: SQLite is a file in the service's own process and cannot drop its connection.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from cprflow import services
from cprflow.db.database import Database
from cprflow.services import timers, users
from cprflow.web import create_app
from tests.conftest import T0, sample_diagrams
from tests.fixtures.tcp_proxy import TcpProxy
from tests.web.conftest import CASE, make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def prepared(pg_db: Database) -> Database:
    services.deploy(pg_db, sample_diagrams(), actor="owner", now=T0)
    users.add_user(pg_db, "intake", password="password-of-intake", roles=["business_unit"], agency=None, now=T0)
    return pg_db


def _serve(url: str) -> tuple[FlaskClient, dict[str, str], Database]:
    database = Database(url)
    client = create_app(make_settings(url), db=database).test_client()
    response = client.post("/api/auth/token", json={"username": "intake", "password": "password-of-intake"})
    assert response.status_code == 200, response.get_json()
    return client, {"Authorization": f"Bearer {response.get_json()['token']}"}, database


def _unavailable(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["error"]["code"] == "database_unavailable", body
    assert set(body["error"]) == {"code", "message", "fields"}


@pytest.fixture
def proxy(prepared: Database) -> Iterator[TcpProxy]:
    url = make_url(prepared.url)
    running = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield running
    running.stop()


def test_requests_while_the_database_is_unreachable_get_503_and_the_service_recovers(
    prepared: Database,
    proxy: TcpProxy,
) -> None:
    client, headers, database = _serve(
        make_url(prepared.url).set(port=proxy.port).render_as_string(hide_password=False)
    )
    started = client.post("/api/instances", json={"process": "sample_case", "data": {}}, headers=headers)
    assert started.status_code == 201, started.get_json()
    task_id = started.get_json()["open_tasks"][0]["id"]
    assert client.get("/readyz").status_code == 200

    proxy.stop()
    _unavailable(client.get("/api/tasks", headers=headers))
    _unavailable(client.post(f"/api/tasks/{task_id}/complete", json={"data": CASE}, headers=headers))
    _unavailable(client.post("/api/instances", json={"process": "sample_case", "data": {}}, headers=headers))
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    assert ready.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200  # the process itself is alive: do not restart it

    proxy.start()  # same port, same app, same engine: nothing restarted
    assert client.get("/readyz").status_code == 200
    listed = client.get("/api/tasks", headers=headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.get_json()["tasks"]] == [task_id]  # the refused start left nothing behind
    done = client.post(f"/api/tasks/{task_id}/complete", json={"data": CASE}, headers=headers)
    assert done.status_code == 200, done.get_json()
    with prepared.transaction(write=False) as session:
        kinds = session.scalars(text("SELECT kind FROM events WHERE task_id = :t"), {"t": task_id}).all()
    assert kinds == ["task_completed"]  # the refused attempt wrote nothing; the retry wrote once
    database.dispose()


def test_connections_terminated_by_the_server_are_replaced_without_a_restart(prepared: Database) -> None:
    name = f"cprflow_drop_{uuid.uuid4().hex[:8]}"
    url = make_url(prepared.url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    client, headers, database = _serve(url)
    for _ in range(3):  # several pooled connections to lose
        assert (
            client.post("/api/instances", json={"process": "sample_case", "data": {}}, headers=headers).status_code
            == 201
        )

    admin = create_engine(prepared.url)
    with admin.begin() as connection:
        killed = connection.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name},
        ).scalar_one()
    admin.dispose()
    assert killed >= 1

    assert client.get("/readyz").status_code == 200
    listed = client.get("/api/tasks", headers=headers)
    assert listed.status_code == 200 and len(listed.get_json()["tasks"]) == 3
    database.dispose()


def _poll(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_timer_worker_rides_out_an_outage_and_fires_what_fell_due_once(
    prepared: Database,
    proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    through_proxy = Database(make_url(prepared.url).set(port=proxy.port).render_as_string(hide_password=False))
    stop = threading.Event()
    worker = threading.Thread(target=timers.work, args=(through_proxy,), kwargs={"poll_seconds": 0.1, "stop": stop})
    caplog.set_level(logging.ERROR, logger="cprflow.services.timers")
    worker.start()
    try:
        proxy.stop()
        # While the worker cannot reach the database, a case's reminder falls due (a day after recording).
        recorded = datetime.now(UTC) - timedelta(days=1, seconds=1)
        view = services.start_instance(prepared, "sample_case", {}, actor="intake", now=recorded)
        services.complete_task(prepared, view.open_tasks[0].id, CASE, actor="intake", now=recorded)
        _poll(
            lambda: any("timer run failed" in r.getMessage() for r in caplog.records), "the worker to meet the outage"
        )
        assert worker.is_alive()
        proxy.start()
        _poll(
            lambda: any(e.kind == "timer_fired" for e in services.list_events(prepared, view.id)),
            "the timer to fire once the database is back",
        )
    finally:
        stop.set()
        worker.join(30)
        through_proxy.dispose()
    assert [e.kind for e in services.list_events(prepared, view.id)].count("timer_fired") == 1
