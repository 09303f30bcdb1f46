"""``cprflow serve``: the web app under gunicorn with the timer and notification workers beside it,
each a process of its own that this one starts, restarts if it dies, and stops on Ctrl-C.

The children run in sessions of their own, so the terminal's Ctrl-C reaches only this supervisor,
which then sends each SIGTERM (gunicorn finishes the requests in flight; a worker finishes its
pass) and exits 0: ``make run`` ends without an error line. ``--dev`` keeps Flask's development server (one process, threads).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click

#: How long stopped children get to finish before they are killed.
STOP_SECONDS = 20.0
#: A worker that keeps dying is restarted after a wait doubling from 1 s up to this.
MAX_RESTART_WAIT_SECONDS = 30.0


def web_workers() -> int:
    """One gunicorn worker per core: requests are CPU-bound engine work (README: Running at scale)."""
    return max(1, os.cpu_count() or 1)


#: How long a worker keeps an idle client connection open for its next request.
KEEP_ALIVE_SECONDS = 5


#: The longest one request may hold a web worker before gunicorn's master replaces the worker (its
#: transaction then rolls back whole). Requests are served on the worker's loop, which tells the
#: master it is alive only between requests, so this bounds a request, not an idle worker.
REQUEST_TIMEOUT_SECONDS = 120


def gunicorn_options() -> list[str]:
    """How each web worker serves, shared with the benchmarks so they time what is deployed.

    ``LoopWorker`` (``cli/gunicorn_worker.py``): gthread's event loop with HTTP keep-alive, serving
    each request on the loop's own thread, one at a time (the work is CPU-bound, so threads would
    only queue behind the interpreter lock), and never holding the worker for a connection that has
    sent nothing yet. gunicorn's control socket is off: cprflow does not use it, and by default every
    gunicorn on the machine would claim the same path in the home directory (``~/.gunicorn``)."""
    return [
        "--no-control-socket",
        "--worker-class",
        "cprflow.cli.gunicorn_worker.LoopWorker",
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--timeout",
        str(REQUEST_TIMEOUT_SECONDS),
    ]


def _cprflow_command() -> list[str]:
    """The ``cprflow`` script of this environment (beside its Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "cprflow"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("cprflow")
    if found:
        return [found]
    return [sys.executable, "-c", "from cprflow.cli import main; main()"]


@dataclass
class Child:
    name: str
    command: list[str]
    stop_signal: signal.Signals
    essential: bool  # if it ends, everything stops (gunicorn's master restarts its own workers)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    restart_at: float | None = None
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, start_new_session=True)
        self.started_at, self.restart_at = time.monotonic(), None


def children(host: str, port: int, workers: int, timers: bool, notify: bool) -> list[Child]:
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        *gunicorn_options(),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        "cprflow.web:create_app()",
    ]
    made = [Child("web", gunicorn, signal.SIGTERM, essential=True)]
    if timers:
        made.append(Child("timer worker", [*_cprflow_command(), "timers", "worker"], signal.SIGTERM, essential=False))
    if notify:
        made.append(
            Child("notification worker", [*_cprflow_command(), "notify", "worker"], signal.SIGTERM, essential=False)
        )
    return made


def supervise(made: list[Child], *, echo: Callable[[str], None] = click.echo, poll_seconds: float = 0.5) -> int:
    """Run the children until Ctrl-C (or SIGTERM) or until an essential one ends; restart the others
    when they die. Returns the exit status: 0 when stopped on purpose."""
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for child in made:
            child.start()
        while not stopping:
            for child in made:
                ended = child.process.poll() if child.process is not None else None
                if child.restart_at is not None and time.monotonic() >= child.restart_at:
                    child.start()
                    echo(f"{child.name} restarted")
                elif ended is not None and child.restart_at is None:
                    if child.essential:
                        echo(f"{child.name} stopped (exit status {ended}); stopping the rest")
                        status = ended or 1
                        stopping.append(0)
                        break
                    # A worker that ran a good while before dying starts again at once; one that
                    # keeps dying waits longer each time, so a broken setup does not spin.
                    lived = time.monotonic() - child.started_at
                    child.restarts = 0 if lived > MAX_RESTART_WAIT_SECONDS else child.restarts + 1
                    wait = min(MAX_RESTART_WAIT_SECONDS, 2.0 ** max(0, child.restarts - 1))
                    child.restart_at = time.monotonic() + wait
                    echo(f"{child.name} exited with status {ended}; restarting in {wait:.0f} s")
            time.sleep(poll_seconds)
    finally:
        _stop_all(made)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


def _stop_all(made: list[Child]) -> None:
    running = [c for c in made if c.process is not None and c.process.poll() is None]
    for child in reversed(running):
        assert child.process is not None
        child.process.send_signal(child.stop_signal)
    deadline = time.monotonic() + STOP_SECONDS
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def gunicorn_installed() -> bool:
    return importlib.util.find_spec("gunicorn") is not None
