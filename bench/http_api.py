"""Real HTTP against the bare engine, on the light diagram used to time comparable products: ten user
tasks in a row in one lane, each a one-field form (``bench/ten_tasks/``).

cprflow is served by gunicorn with one worker, configured as ``cprflow serve`` deploys it
(``cli.serve.gunicorn_options``: it keeps connections alive); the client keeps its connection open
where the server allows, counts the connections it had to open, and signs every request with a
bearer token. Interleaved, instance by instance, with the same work on SpiffWorkflow alone:

- bare (the yardstick the targets use): load the JSON state, complete the task, run engine steps,
  save the JSON, all in memory; and start-and-save;
- bare, stored (for information, no target): the same with the state kept as one row of a SQLite
  file, read and written back in one transaction with one commit (``bare.bare_engine_sqlite``);
- cprflow: ``POST /api/tasks/<id>/complete``, ``GET /api/tasks/<id>`` for the next form, and
  ``POST /api/instances`` (start).

Medians over every completion. SQL statements and transactions per request are counted separately,
in-process, on the same app and diagram (the server is another process).
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event

from bench.bare import bare_engine, bare_engine_sqlite
from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.diagrams.diagram_set import read_directories
from cprflow.services import users

TEN_TASKS = Path(__file__).resolve().parent / "ten_tasks"
PROCESS = "ten_tasks"
ANSWER = {"answer": "yes"}
FORM_DATA = {f"step_{n}": ANSWER for n in range(1, 11)}
USER, PASSWORD = "clerk", "bench-clerk-password"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def prepare(url: str) -> None:
    """Schema, the ten-task diagram and the clerk who works it."""
    db = Database(url)
    try:
        db.upgrade()
        services.deploy(db, read_directories(TEN_TASKS / "processes", TEN_TASKS / "forms"), actor="bench", now=T0)
        users.add_user(db, USER, password=PASSWORD, roles=["business_unit"], now=T0)
    finally:
        db.dispose()


class Client:
    """A plain HTTP/1.1 client (little of its own time in the figures) that reuses its connection
    while the server keeps it open and reconnects when the server closes it. Like browsers and
    ``requests``, it turns Nagle's algorithm off (TCP_NODELAY); left on, each request here waited
    for the delayed acknowledgement of its own small writes, some 7 ms that no real client pays."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connection: http.client.HTTPConnection | None = None
        self.headers = {"Content-Type": "application/json"}
        self.requests = self.connections = 0  # connections opened: 1 if the server keeps them alive
        #: The server's CPU time so far (nanoseconds), if known: read around each request.
        self.meter: Callable[[], int] | None = None
        self.last_cpu = 0.0  # seconds of server CPU the last request took

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """(status, JSON answer, seconds from sending to the whole answer read)."""
        payload = None if body is None else json.dumps(body).encode()
        cpu_before = self.meter() if self.meter else 0
        began = time.perf_counter()
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.connection.connect()
            assert self.connection.sock is not None
            self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
        self.requests += 1
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - began
        self.last_cpu = (self.meter() - cpu_before) / 1e9 if self.meter else 0.0
        if response.will_close:
            self.connection.close()
            self.connection = None
        return response.status, json.loads(raw) if raw else None, seconds

    def sign_in(self) -> None:
        status, answer, _ = self.call("POST", "/api/auth/token", {"username": USER, "password": PASSWORD})
        assert status == 200, answer
        self.headers["Authorization"] = f"Bearer {answer['token']}"

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def cpu_meter(pids: list[int]) -> Callable[[], int]:
    """Nanoseconds of CPU the processes' threads have run so far (Linux ``schedstat``): unlike the
    time a request takes, it does not grow when other work on the machine keeps a process waiting."""

    def used() -> int:
        total = 0
        for pid in pids:
            for task in Path(f"/proc/{pid}/task").iterdir():
                try:
                    total += int((task / "schedstat").read_text().split()[0])
                except (FileNotFoundError, ProcessLookupError):
                    continue  # a thread that ended meanwhile
        return total

    return used


def _work_one(client: Client, times: dict[str, list[float]]) -> None:
    """Start one instance and work its ten tasks: GET each form, then complete it."""
    status, body, seconds = client.call("POST", "/api/instances", {"process": PROCESS, "data": {}})
    assert status == 201 or status == 200, body
    times["start"].append(seconds)
    times["start_cpu"].append(client.last_cpu)
    while body["open_tasks"]:
        task = body["open_tasks"][0]
        status, detail, seconds = client.call("GET", f"/api/tasks/{task['id']}")
        assert status == 200, detail
        times["get"].append(seconds)
        times["get_cpu"].append(client.last_cpu)
        status, body, seconds = client.call("POST", f"/api/tasks/{task['id']}/complete", {"data": ANSWER})
        assert status == 200, body
        times["complete"].append(seconds)
        times["complete_cpu"].append(client.last_cpu)
        # The stack's own floor, on the same connection: gunicorn and Flask answering a request
        # that reads no token and touches no database.
        status, _, seconds = client.call("GET", "/healthz")
        assert status == 200
        times["floor"].append(seconds)


def bench_http(url: str, instances: int = 40) -> dict[str, float]:
    """Median seconds: ``bare_complete``, ``bare_start``, ``stored_complete``, ``stored_start`` (bare
    with a SQLite row), ``complete``, ``get``, ``start``, ``floor`` (``GET /healthz``), and the CPU each took (``..._cpu``: the
    server's for requests, the bare engine's own); and the counts of ``connections`` the client
    opened for its timed ``requests``."""
    from bench.load import gunicorn
    from cprflow.cli.serve import gunicorn_options

    start, ready, complete = bare_engine(TEN_TASKS, PROCESS, FORM_DATA)
    times: dict[str, list[float]] = defaultdict(list)
    prepare(url)
    with tempfile.TemporaryDirectory() as tmp, gunicorn(url, workers=1, options=gunicorn_options()) as server:
        stored_start, stored_ready, stored_complete = bare_engine_sqlite(
            f"{tmp}/bare.db", TEN_TASKS, PROCESS, FORM_DATA
        )
        client = Client(server.url)
        client.sign_in()
        _work_one(client, defaultdict(list))  # warm-up: first requests import and cache
        client.requests = client.connections = 0
        client.meter = cpu_meter(server.workers())
        for n in range(instances):

            def in_memory() -> None:
                began, cpu = time.perf_counter(), time.thread_time()
                state = start()
                times["bare_start"].append(time.perf_counter() - began)
                times["bare_start_cpu"].append(time.thread_time() - cpu)
                while tasks := ready(state):
                    began, cpu = time.perf_counter(), time.thread_time()
                    state = complete(state, tasks[0])
                    times["bare_complete"].append(time.perf_counter() - began)
                    times["bare_complete_cpu"].append(time.thread_time() - cpu)

            def stored() -> None:
                began = time.perf_counter()
                row = stored_start()
                times["stored_start"].append(time.perf_counter() - began)
                while tasks := stored_ready(row):
                    began = time.perf_counter()
                    stored_complete(row, tasks[0])
                    times["stored_complete"].append(time.perf_counter() - began)

            # Whichever runs first after the HTTP work finds colder caches: take turns.
            for run in (in_memory, stored) if n % 2 == 0 else (stored, in_memory):
                run()
            _work_one(client, times)
        client.close()
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    return {**medians, "connections": client.connections, "requests": client.requests}


@contextmanager
def counting(db: Database) -> Iterator[dict[str, int]]:
    """Counts of SQL statements (BEGIN and COMMIT aside), write and read transactions on ``db``."""
    counts = {"statements": 0, "writes": 0, "reads": 0}

    def on_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"):
            counts["statements"] += 1

    def on_commit(conn: Any) -> None:
        counts["writes" if conn.get_execution_options().get("cprflow_write") else "reads"] += 1

    event.listen(db.engine, "before_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
        event.remove(db.engine, "commit", on_commit)


def sql_per_request(instances: int = 3) -> dict[str, dict[str, float]]:
    """Per request kind (start, get, complete): mean statements, write and read transactions,
    through the app in-process (Flask's test client) on SQLite."""
    from cprflow.web import create_app

    per: dict[str, dict[str, int]] = defaultdict(lambda: {"statements": 0, "writes": 0, "reads": 0, "requests": 0})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/count.db"
        prepare(url)
        db = Database(url)
        client = create_app(Settings(database_url=url, secret_key="bench-" + "k" * 32), db=db).test_client()
        token = client.post("/api/auth/token", json={"username": USER, "password": PASSWORD}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def measured(kind: str, method: str, path: str, body: Any = None) -> Any:
            with counting(db) as counts:
                response = client.open(path, method=method, json=body, headers=headers)
            assert response.status_code in (200, 201), response.get_json()
            for key, value in counts.items():
                per[kind][key] += value
            per[kind]["requests"] += 1
            return response.get_json()

        client.post("/api/instances", json={"process": PROCESS, "data": {}}, headers=headers)  # warm-up
        for _ in range(instances):
            body = measured("start", "POST", "/api/instances", {"process": PROCESS, "data": {}})
            while body["open_tasks"]:
                task_id = body["open_tasks"][0]["id"]
                measured("get", "GET", f"/api/tasks/{task_id}")
                body = measured("complete", "POST", f"/api/tasks/{task_id}/complete", {"data": ANSWER})
        db.dispose()
    return {
        kind: {key: value / counts["requests"] for key, value in counts.items() if key != "requests"}
        for kind, counts in per.items()
    }
