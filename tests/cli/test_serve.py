"""``cprflow serve`` as ``make run`` starts it: gunicorn and the two workers as processes of their own,
a dead worker started again, and Ctrl-C stopping everything with exit status 0 and nothing on screen
that looks like a failure."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from cprflow.cli.gunicorn_worker import CLIENT_WAIT_SECONDS
from cprflow.db.database import Database

CPRFLOW = str(Path(sys.executable).parent / "cprflow")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started, each with its command line."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            found[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
    return found


def _until(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _kept_alive(url: str) -> bool:
    """Two requests answered over one connection that the server leaves open."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        for _ in range(2):
            connection.request("GET", parts.path)
            response = connection.getresponse()
            response.read()
            if response.status != 200 or response.will_close:
                return False
        return True
    finally:
        connection.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    Database(url).upgrade()
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),  # where gunicorn would put a control socket of its own
        "CPRFLOW_DATABASE_URL": url,
        "CPRFLOW_SECRET_KEY": "serve-test-" + "k" * 32,
        "CPRFLOW_PORT": str(port),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # A session of its own, as a terminal's foreground job is: Ctrl-C goes to its process group.
        process = subprocess.Popen(
            [CPRFLOW, "serve", "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    yield process, {"health": f"http://127.0.0.1:{port}/healthz"}, log
    if process.poll() is None:  # a test that failed: its children run in sessions of their own
        left = [*_children(process.pid)]
        left += [w for pid in left for w in _children(pid)]
        process.kill()
        process.wait()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_serve_runs_gunicorn_and_supervised_workers_and_stops_cleanly_on_ctrl_c(
    served: tuple[subprocess.Popen[bytes], dict[str, str], Path],
) -> None:
    process, urls, log = served
    _until(lambda: _answers(urls["health"]), "the web app to answer")
    _until(lambda: len(_children(process.pid)) == 3, "gunicorn and both workers")
    started = _children(process.pid)
    assert sorted(
        next(w for w in ("gunicorn", "timers worker", "notify worker") if w in c) for c in started.values()
    ) == [
        "gunicorn",
        "notify worker",
        "timers worker",
    ]
    timer = next(pid for pid, command in started.items() if "timers worker" in command)
    assert _kept_alive(urls["health"])  # a client does not connect again for each request

    os.kill(timer, signal.SIGKILL)  # a worker dies: it is started again, the web goes on answering
    _until(
        lambda: any("timers worker" in c and pid != timer for pid, c in _children(process.pid).items()),
        "the timer worker to be restarted",
    )
    assert _answers(urls["health"])

    everyone = [*_children(process.pid)]
    gunicorn_workers = [w for pid in everyone for w in _children(pid)]
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    assert process.wait(90) == 0
    _until(lambda: all(_gone(pid) for pid in everyone + gunicorn_workers), "every child to stop")
    said = log.read_text()
    assert "Traceback" not in said and "Error" not in said
    assert "restarting in" in said
    # Nothing claimed in the home directory: two services on one machine would fight over it.
    assert not list((log.parent / "home").iterdir()) and "Control socket" not in said


def test_a_connection_that_sends_nothing_or_half_a_request_does_not_hold_up_other_people(
    served: tuple[subprocess.Popen[bytes], dict[str, str], Path],
) -> None:
    """One web worker: a connection opened and left silent (browsers open spare ones ahead of need)
    waits in the worker's poller, so another person's request is answered at once, not after the
    5 s the worker would otherwise give the silent one; requests sent back to back on one
    connection (pipelined) are each answered, in order; the silent connection is closed in the end;
    and a client that sends half a request and stops is disconnected after CLIENT_WAIT_SECONDS."""
    process, urls, _ = served
    _until(lambda: _answers(urls["health"]), "the web app to answer")
    parts = urlsplit(urls["health"])
    address = (parts.hostname or "", parts.port or 80)
    silent = [socket.create_connection(address) for _ in range(3)]
    try:
        time.sleep(0.3)  # the worker has accepted them
        started = time.monotonic()
        assert requests.get(urls["health"], timeout=10).status_code == 200
        assert time.monotonic() - started < 2.5  # not queued behind a 5 s wait for a silent client

        with socket.create_connection(address, timeout=10) as pipelined:
            ask = f"GET {parts.path} HTTP/1.1\r\nHost: {address[0]}\r\n\r\n".encode()
            pipelined.sendall(ask * 3)
            answered = b""
            while answered.count(b'{"status":"ok"}') < 3:
                chunk = pipelined.recv(65536)
                assert chunk, f"the connection closed after {answered.count(b'HTTP/1.1 200')} answers"
                answered += chunk
            assert answered.count(b"HTTP/1.1 200 OK") == 3

        silent[0].settimeout(15)
        assert silent[0].recv(1) == b""  # closed by the server once its keep-alive time ran out

        # Half a request, then nothing: the worker waits CLIENT_WAIT_SECONDS for the rest, not for
        # ever (gthread's thread) nor until the master replaces it (--timeout, 120 s).
        half = socket.create_connection(address)
        silent.append(half)
        half.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {address[0]}\r\n".encode())
        time.sleep(0.3)
        started = time.monotonic()
        assert requests.get(urls["health"], timeout=60).status_code == 200
        assert time.monotonic() - started < CLIENT_WAIT_SECONDS + 5
        half.settimeout(15)
        assert half.recv(1) == b""  # and that client was disconnected
    finally:
        for sock in silent:
            sock.close()
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(90) == 0
