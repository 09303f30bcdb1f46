"""Load: simulated staff working Child Practice Reviews through the JSON API of a real server.

The server is gunicorn with its sync workers (``cprflow.web:create_app()``) beside one
``cprflow timers worker``, on the database given. Each simulated member of staff signs in
(``POST /api/auth/token``) and then, until the run's bound, lists their tasks, claims one the
driver has form data for, and completes it with the data the scenario tests prove valid against
the real ``forms/`` (``tests/scenarios/cpr.py``). Business Unit staff also start new reviews.
Every request's status and latency is kept, and every task whose completion got a 2xx, so a
test can check each is in the database exactly once.

``python -m bench.load --staff 50 --seconds 60`` runs it on PostgreSQL (its own schema, dropped
afterwards) and prints p50/p95 latency, throughput and the count of 5xx answers.

``--hostile`` adds, beside the staff, one attacker working a process of their own for the whole
run: each round starts a case whose data asks a multi-instance activity for 3,000 instances,
submits a 38-character value to a form whose ``pattern`` backtracks catastrophically
(``^(a|aa)+$``), then a valid value, so that the multi-instance runs. The process is deployed as a
version made before the deploy checks refused such patterns would have been, so the run-time
bounds are what is measured. Compare the staff's p95 with and without it.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from cprflow import bootstrap, services
from cprflow.db.database import Database
from cprflow.services import users
from tests.scenarios import cpr

ROOT = Path(__file__).resolve().parent.parent
PROCESS = cpr.CPR
#: What the Business Unit answers on the review's start form.
START = cpr.start_data()

#: The stretch of a concise review the staff work, with the form data for each task.
FORMS: dict[str, dict[str, Any]] = {
    "record_referral": cpr.referral(),
    "screen_referral": cpr.screening(),
    "record_board_decision": cpr.decision("concise"),
    "notify_welsh_government": cpr.NOTIFIED,
    "establish_review_panel": cpr.PANEL,
    "agree_terms_of_reference": cpr.TOR,
    "appoint_reviewers": cpr.reviewers(1),
    "accept_appointment": cpr.ACCEPT,
    "submit_agency_timeline": cpr.timeline("2026-02-10"),
    "merge_summary_timeline": cpr.MERGE,
    "family_involvement": cpr.FAMILY_DECLINED,
    "learning_event": cpr.LEARNING,
}

#: Roles handed out in turn; the reviewer and the agencies the driver's reviews name come first.
NAMED = [(cpr.LEAD, ["reviewer"], None)] + [(a, ["agency"], a) for a in cpr.AGENCIES]
ROTATION = [["business_unit"], ["review_subgroup"], ["board_chair"], ["panel_chair"], ["business_unit"]]


def accounts(staff: int) -> list[tuple[str, list[str], str | None]]:
    """``staff`` accounts: the named reviewer and agencies, then the lanes' roles in turn."""
    named = NAMED[: max(0, min(len(NAMED), staff - len(ROTATION)))]
    rest = [(f"staff{n:02d}", ROTATION[n % len(ROTATION)], None) for n in range(staff - len(named))]
    return named + rest


def password(username: str) -> str:
    return f"load-{username}-password"


ATTACKER = "attacker"
HOSTILE_PROCESS = "hostile_load"
HOSTILE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="hostile_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="hostile_load" name="Hostile load" isExecutable="true">
    <bpmn:laneSet id="hostile_lanes">
      <bpmn:lane id="hostile_lane" name="Business Unit">
        <bpmn:flowNodeRef>hostile_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>hostile_code</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>hostile_each</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>hostile_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="hostile_start"><bpmn:outgoing>hostile_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="hostile_code" name="Enter a code">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="hostile_code.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>hostile_1</bpmn:incoming><bpmn:outgoing>hostile_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:subProcess id="hostile_each" name="One each">
      <bpmn:incoming>hostile_2</bpmn:incoming><bpmn:outgoing>hostile_3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="item" name="item" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="hostile_each_start"><bpmn:outgoing>hostile_each_flow</bpmn:outgoing></bpmn:startEvent>
      <bpmn:endEvent id="hostile_each_end"><bpmn:incoming>hostile_each_flow</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="hostile_each_flow" sourceRef="hostile_each_start" targetRef="hostile_each_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="hostile_end"><bpmn:incoming>hostile_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="hostile_1" sourceRef="hostile_start" targetRef="hostile_code" />
    <bpmn:sequenceFlow id="hostile_2" sourceRef="hostile_code" targetRef="hostile_each" />
    <bpmn:sequenceFlow id="hostile_3" sourceRef="hostile_each" targetRef="hostile_end" />
  </bpmn:process>
</bpmn:definitions>
"""
HOSTILE_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Code",
    "type": "object",
    "required": ["code"],
    "properties": {"code": {"type": "string", "title": "Code", "pattern": "^(a|aa)+$"}},
    "additionalProperties": False,
}


def deploy_hostile(db: Database) -> None:
    """The real set plus the attacker's process, as a version deployed before the deploy check
    refused backtracking form patterns (the check is skipped for this deploy only)."""
    import json

    from cprflow.diagrams import diagram_set

    diagrams = cpr.diagrams()
    permissions = json.loads(diagrams.files["processes/permissions.json"])
    permissions["starters"][HOSTILE_PROCESS] = ["business_unit"]
    diagrams.files["processes/permissions.json"] = json.dumps(permissions).encode()
    diagrams.files["processes/hostile_load.bpmn"] = HOSTILE_BPMN.encode()
    diagrams.files["forms/hostile_code.schema.json"] = json.dumps(HOSTILE_FORM).encode()
    checked = diagram_set._check_form_patterns
    diagram_set._check_form_patterns = lambda forms: []  # type: ignore[assignment]
    try:
        services.deploy(db, diagrams, actor="owner", now=cpr.at("2026-01-02"))
    finally:
        diagram_set._check_form_patterns = checked  # type: ignore[assignment]


def prepare(url: str, staff: int, *, hostile: bool = False) -> list[tuple[str, list[str], str | None]]:
    """Create the schema, deploy the real ``processes/`` and ``forms/`` (with the attacker's process
    and account if ``hostile``), and make the staff's accounts."""
    db = Database(url)
    try:
        db.upgrade()
        services.deploy(db, cpr.diagrams(), actor="owner", now=cpr.at("2026-01-01"))
        if hostile:
            deploy_hostile(db)
            users.add_user(db, ATTACKER, password=password(ATTACKER), roles=["business_unit"], now=cpr.at("2026-01-01"))
        made = accounts(staff)
        for username, roles, agency in made:
            users.add_user(
                db, username, password=password(username), roles=roles, agency=agency, now=cpr.at("2026-01-01")
            )
    finally:
        db.dispose()
    return made


# ---------------------------------------------------------------------------------------------
# The server: gunicorn and a timer worker, as the README deploys them


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(url: str, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "CPRFLOW_DATABASE_URL": url,
        "CPRFLOW_SECRET_KEY": secret,
        "CPRFLOW_LOCKOUT_ATTEMPTS": "0",
        "PYTHONPATH": str(ROOT),
    }


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def workers(self) -> list[int]:
        """The pids of gunicorn's web workers (the master's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


@contextmanager
def gunicorn(
    url: str,
    *,
    workers: int = 2,
    log: Path | None = None,
    secret: str | None = None,
    options: Sequence[str] = (),
) -> Iterator[Server]:
    """gunicorn serving ``url`` with ``workers`` workers (sync unless ``options`` say otherwise, as
    ``cprflow.cli.serve.gunicorn_options`` do), ready when this yields."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        *options,
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "cprflow.web:create_app()",
    ]
    process = _spawn(command, _env(url, secret or secrets.token_hex(32)), log)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        wait_ready(server, workers)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(server: Server, workers: int, deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200 and len(server.workers()) >= workers:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not become ready")
        time.sleep(0.1)


def timer_worker(url: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``cprflow timers worker`` on ``url``, with the default poll interval."""
    command = [str(Path(sys.executable).parent / "cprflow"), "timers", "worker"]
    return _spawn(command, _env(url, "timer-worker-needs-no-secret"), log)


def _spawn(command: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)


# ---------------------------------------------------------------------------------------------
# The staff


@dataclass
class Tally:
    """What the clients saw. ``completed``: task ids whose completion got a 2xx; ``unanswered``: task
    ids whose completion got no answer at all (the connection broke), so may or may not have happened."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    completed: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def work_latencies(self) -> list[float]:
        """Every request's latency but signing in (made once, before the measured window)."""
        return [v for kind, values in self.latencies.items() if kind != "sign_in" for v in values]

    def summary(self) -> dict[str, float]:
        every = sorted(self.work_latencies())
        cuts = _percentiles(every)
        sign_in = _percentiles(sorted(self.latencies.get("sign_in", [])))
        return {
            "requests": len(every),
            "completions": len(self.completed),
            "starts": len(self.started),
            "p50_ms": cuts[49] * 1000,
            "p95_ms": cuts[94] * 1000,
            "sign_in_p50_ms": sign_in[49] * 1000,
            "requests_per_s": len(every) / self.seconds if self.seconds else 0.0,
            "completions_per_s": len(self.completed) / self.seconds if self.seconds else 0.0,
            "server_errors": self.server_errors,
            "connection_errors": len(self.errors),
        }


def _percentiles(values: list[float]) -> list[float]:
    if len(values) >= 2:
        return statistics.quantiles(values, n=100)
    return (values or [0.0]) * 99


class Staff:
    """One person at a keyboard: a requests session, a token, and what they do next."""

    def __init__(self, base: str, username: str, roles: list[str], tally: Tally, seed: int) -> None:
        self.base, self.username, self.roles, self.tally = base, username, roles, tally
        self.http = requests.Session()
        self.rng = random.Random(seed)
        self.headers: dict[str, str] = {}

    def _call(self, kind: str, method: str, path: str, **options: Any) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, headers=self.headers, timeout=120, **options)
        except requests.RequestException as err:
            with self.tally.lock:
                self.tally.errors.append(f"{kind}: {type(err).__name__}")
            return None
        with self.tally.lock:
            self.tally.latencies[kind].append(time.perf_counter() - began)
            self.tally.statuses[response.status_code] += 1
        return response

    def sign_in(self) -> bool:
        response = self._call(
            "sign_in", "POST", "/api/auth/token", json={"username": self.username, "password": password(self.username)}
        )
        if response is None or response.status_code != 200:
            return False
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}
        return True

    def act(self) -> None:
        """One step of work: start a review, or take a task and complete it."""
        if not self.headers and not self.sign_in():
            return
        listed = self._call("list_tasks", "GET", "/api/tasks")
        if listed is None or listed.status_code != 200:
            return
        workable = [
            t for t in listed.json()["tasks"] if t["bpmn_id"] in FORMS and t["claimed_by"] in (None, self.username)
        ]
        if "business_unit" in self.roles and (not workable or self.rng.random() < 0.2):
            started = self._call("start", "POST", "/api/instances", json={"process": PROCESS, "data": START})
            if started is not None and started.status_code == 201:
                with self.tally.lock:
                    self.tally.started.append(started.json()["id"])
            return
        if not workable:
            time.sleep(0.05)  # nothing to do yet: look again shortly, as a person would
            return
        task = self.rng.choice(workable)
        claimed = self._call("claim", "POST", f"/api/tasks/{task['id']}/claim")
        if claimed is None or claimed.status_code != 200:
            return  # a colleague took it first (409), or the task moved on
        done = self._call(
            "complete", "POST", f"/api/tasks/{task['id']}/complete", json={"data": FORMS[task["bpmn_id"]]}
        )
        with self.tally.lock:
            if done is None:
                self.tally.unanswered.append(task["id"])
            elif done.status_code < 300:
                self.tally.completed.append(task["id"])


def run(
    base: str,
    staff: list[tuple[str, list[str], str | None]],
    *,
    seconds: float | None = None,
    actions: int | None = None,
    seed: int = 7,
    tally: Tally | None = None,
) -> Tally:
    """Everyone signs in, then all work at once, for ``seconds`` or for ``actions`` steps each.

    Signing in hashes a password on purpose slowly (argon2), once a working day: it is measured
    (latency kind ``sign_in``) but the bounded window and the throughput start when all are in."""
    assert (seconds is None) != (actions is None), "bound the run by time or by steps"
    tally = tally or Tally()
    window: dict[str, float] = {}

    def open_window() -> None:
        window["began"] = time.perf_counter()
        window["stop_at"] = time.monotonic() + seconds if seconds is not None else float("inf")

    everyone_in = threading.Barrier(len(staff), action=open_window)

    def work(n: int, username: str, roles: list[str]) -> None:
        person = Staff(base, username, roles, tally, seed * 1000 + n)
        for _ in range(3):
            if person.sign_in():
                break
        everyone_in.wait()
        done = 0
        while time.monotonic() < window["stop_at"] and (actions is None or done < actions):
            person.act()
            done += 1

    threads = [threading.Thread(target=work, args=(n, u, r), daemon=True) for n, (u, r, _) in enumerate(staff)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - window["began"]
    return tally


def attack(base: str, tally: Tally, stop: threading.Event) -> None:
    """The attacker's rounds (see ``--hostile``) until ``stop``; their answers go to ``tally``."""
    attacker = Staff(base, ATTACKER, ["business_unit"], tally, 0)
    items = list(range(3000))
    while not stop.is_set():
        if not attacker.headers and not attacker.sign_in():
            stop.wait(1)
            continue
        started = attacker._call(
            "hostile_start", "POST", "/api/instances", json={"process": HOSTILE_PROCESS, "data": {"items": items}}
        )
        if started is None or started.status_code != 201:
            stop.wait(0.5)
            continue
        task = started.json()["open_tasks"][0]["id"]
        attacker._call(
            "hostile_pattern", "POST", f"/api/tasks/{task}/complete", json={"data": {"code": "a" * 37 + "!"}}
        )
        attacker._call("hostile_instances", "POST", f"/api/tasks/{task}/complete", json={"data": {"code": "aa"}})


def load_test(
    base_postgres_url: str,
    *,
    staff: int,
    seconds: float,
    workers: int = 2,
    log: Path | None = None,
    hostile: bool = False,
) -> dict[str, float]:
    """The whole load test on PostgreSQL: its own schema, gunicorn, a timer worker, ``staff`` people,
    and with ``hostile`` the attacker beside them (their requests are counted apart)."""
    from bench.pg import own_schema

    with own_schema(base_postgres_url) as url:
        people = prepare(url, staff, hostile=hostile)
        timers = timer_worker(url, log)
        attacks = Tally()
        try:
            with gunicorn(url, workers=workers, log=log) as server:
                stop = threading.Event()
                attacker = threading.Thread(target=attack, args=(server.url, attacks, stop), daemon=True)
                if hostile:
                    attacker.start()
                try:
                    tally = run(server.url, people, seconds=seconds)
                finally:
                    stop.set()
                    if hostile:
                        attacker.join(120)
        finally:
            timers.send_signal(signal.SIGTERM)
            timers.wait(30)
    summary = tally.summary()
    if hostile:
        summary["attacker_requests"] = sum(len(v) for k, v in attacks.latencies.items() if k != "sign_in")
        summary["attacker_statuses"] = dict(attacks.statuses)  # type: ignore[assignment]
        summary["attacker_server_errors"] = attacks.server_errors
    return summary


def main(argv: list[str] | None = None) -> int:
    bootstrap.install()
    from bench.pg import postgres_url

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hostile", action="store_true", help="add the attacker's rounds (see above)")
    args = parser.parse_args(argv)
    url, where = postgres_url()
    print(where)
    if not url:
        print("load test skipped (set CPRFLOW_BENCH_POSTGRES_URL or CPRFLOW_TEST_POSTGRES_URL)")
        return 0
    result = load_test(url, staff=args.staff, seconds=args.seconds, workers=args.workers, hostile=args.hostile)
    if args.hostile:
        print(
            f"attacker: {result['attacker_requests']} requests, statuses {result['attacker_statuses']}, "
            f"5xx: {result['attacker_server_errors']}"
        )
    print(
        f"{args.staff} staff, gunicorn -w {args.workers}, PostgreSQL, {args.seconds:.0f} s: "
        f"{result['requests']} requests ({result['requests_per_s']:.1f}/s), "
        f"{result['completions']} completions ({result['completions_per_s']:.1f}/s), {result['starts']} reviews started; "
        f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms (sign-in p50 {result['sign_in_p50_ms']:.0f} ms); "
        f"5xx: {result['server_errors']}, connection errors: {result['connection_errors']}"
    )
    return 1 if result["server_errors"] or result["connection_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
