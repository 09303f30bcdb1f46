"""The gunicorn worker ``cprflow serve`` runs: gunicorn's gthread worker, serving on its event loop.

Each request is CPU-bound engine work, so a worker serves one at a time whatever its threads. The
gthread worker with one thread gives a new connection to that thread before the client has sent
anything, and the thread waits up to 5 s for a first byte: one idle connection (a browser opens
spare ones ahead of need) held the worker, and every other person's request behind it, for 4.8 s
(three of them, 14 s). It also hands every request from its loop to the thread and back: requests
sent back to back answer some 0.25 ms sooner without that (``/healthz`` 0.74-0.85 ms against
1.00-1.06 ms), though in the benchmark's mix the difference is within run-to-run noise.

Here a new connection waits in the loop's poller, like a kept-alive one, until it has something to
read, and is then served on the loop's own thread. Keep-alive, the pending and keep-alive timeouts,
graceful stopping and the rest stay gunicorn's. It overrides two methods of ``ThreadWorker``, whose
internals it relies on: ``pyproject.toml`` holds gunicorn to the major version this was written
for, and ``tests/cli/test_gunicorn_worker.py`` runs the real server through it.

A request that has begun is read and answered on the loop, so a client that stops halfway (half a
request sent, or an answer it does not read) would hold the worker: gthread's thread waited on it
for ever, and here the master would replace the worker after ``--timeout``. Each read from or
write to a client may wait at most ``CLIENT_WAIT_SECONDS`` instead; a client that goes quiet for
longer is disconnected (a slow but moving upload is not). Slow clients on the open internet are
still for a buffering reverse proxy in front (README: Running at scale).
"""

from __future__ import annotations

import errno
import logging
import selectors
import time
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

#: The longest one read from, or write to, a client may wait before the client is disconnected.
CLIENT_WAIT_SECONDS = 10.0

_log = logging.getLogger("gunicorn.error")


class _ClientSocket:
    """A client's socket whose blocking reads and writes wait at most ``CLIENT_WAIT_SECONDS``.

    gunicorn switches a connection to blocking mode (``setblocking(True)``) to serve it; here that
    means a timeout instead. A timeout is reported to gunicorn as the client going away (which it
    answers by closing the connection quietly), with one warning in the log."""

    __slots__ = ("_sock",)

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def setblocking(self, flag: bool) -> None:
        if flag:
            self._sock.settimeout(CLIENT_WAIT_SECONDS)
        else:
            self._sock.setblocking(False)

    def _quiet(self, doing: str, code: int, error_type: type[OSError]) -> OSError:
        _log.warning("closed a connection whose client %s for %.0f s", doing, CLIENT_WAIT_SECONDS)
        return error_type(code, f"the client {doing} for {CLIENT_WAIT_SECONDS:.0f} s")

    def recv(self, *args: Any) -> Any:
        try:
            return self._sock.recv(*args)
        except TimeoutError:
            raise self._quiet("sent nothing more", errno.ECONNRESET, ConnectionResetError) from None

    def sendall(self, *args: Any) -> Any:
        try:
            return self._sock.sendall(*args)
        except TimeoutError:
            raise self._quiet("read nothing of the answer", errno.EPIPE, BrokenPipeError) from None

    def sendfile(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._sock.sendfile(*args, **kwargs)
        except TimeoutError:
            raise self._quiet("read nothing of the answer", errno.EPIPE, BrokenPipeError) from None


class LoopWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gthread without the hand-off: requests are served on the event loop's thread."""

    _serving = False

    def accept(self, listener: Any) -> None:
        """Take the connection and wait in the poller for its first bytes: nobody waits on it."""
        try:
            sock, address = listener.accept()
        except BlockingIOError:
            return  # another worker took it
        except OSError as err:  # ECONNABORTED: the client gave up first
            self.log.debug("accept failed: %s", err)
            return
        self.nr_conns += 1
        # TLS in gunicorn itself wraps the socket, which must then be the real one (no wait bound).
        client = sock if self.cfg.is_ssl else _ClientSocket(sock)
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking until served
        conn.timeout = time.monotonic() + self.cfg.keepalive  # closed by murder_pending if silent
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn: Any) -> None:
        """Serve the request now, on this thread. A request already read with the previous one
        (pipelining) is served on the next turn of the loop, not by recursion."""
        if self._serving:
            self.method_queue.defer(self.enqueue_req, conn)
            return
        self._serving = True
        try:
            done: Future[Any] = Future()
            try:
                done.set_result(self.handle(conn))
            except Exception as err:  # handle() answers errors itself; anything left closes the connection
                done.set_exception(err)
            self.finish_request(conn, done)
        finally:
            self._serving = False
