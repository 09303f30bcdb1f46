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

A request that has begun still reads its body from the client: slow senders on the open internet
are for the buffering reverse proxy in front (README: Running at scale), as with any gunicorn worker.
"""

from __future__ import annotations

import selectors
import time
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker


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
        sock.setblocking(False)
        conn = TConn(self.cfg, sock, address, listener.getsockname())
        conn.timeout = time.monotonic() + self.cfg.keepalive  # closed by murder_pending if silent
        self.pending_conns.append(conn)
        self.poller.register(sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

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
