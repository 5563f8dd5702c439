"""Draining on SIGTERM: readiness answers 503 for a while before the server stops accepting.

A load balancer that polls `/health/ready` needs a few periods to take an instance out; if the
server closed its socket at once, requests routed to it meanwhile would be refused. So the first
SIGTERM only marks the process as draining (it keeps serving everything), and the server's own
graceful shutdown starts `seconds` later. A second SIGTERM, or SIGINT (Ctrl-C), stops at once.

Under granian the signal reaches its main process, not the workers that answer readiness: the
main process defers it (cli/http_server.py) and says so with a file the workers look for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
# The file whose existence means "draining", set by a parent process that owns the signal.
DRAIN_FLAG_ENV = "BRISK_DRAIN_FLAG"
# The pid of that parent (granian's main process): its workers stop when it dies (brisk.asgi).
PARENT_ENV = "BRISK_SERVER_PID"


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._draining = False
        self._previous: Any = None
        self._installed = False
        flag = os.environ.get(DRAIN_FLAG_ENV)
        self._flag = Path(flag) if flag else None

    @property
    def draining(self) -> bool:
        # A stat per readiness probe (a few a second), only when a parent owns the signal.
        return self._draining or (self._flag is not None and self._flag.exists())

    def install(self) -> None:
        """Wrap the SIGTERM handler the server installed (uvicorn sets it before the lifespan
        starts), so that its shutdown begins only after the drain period."""
        if self.seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        if self._flag is not None:
            return  # the parent defers the signal (granian)
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):  # no server handler to defer (SIG_DFL / SIG_IGN)
            return
        self._previous = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._previous)
        self._installed = False

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._draining:  # asked twice: stop now
            self._previous(signum, frame)
            return
        self._draining = True
        log.info("SIGTERM: readiness is 503 now; shutting down in %g s", self.seconds)
        # The handler runs on the main thread, which runs the event loop (the server's loop
        # wakes at least every 0.1 s, so the timer fires on time).
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop running (yet or any more): nothing to drain
            self._previous(signum, frame)
            return
        loop.call_later(self.seconds, self._previous, signum, None)


# anyio's thread-pool threads (FastAPI runs sync callables on them) are not daemons and wait
# for work until the task that first used them ends. granian's worker can end its loop before
# that callback runs, and the process then hangs at exit joining an idle thread (ADR 0003:
# 4 of 17 stops).
ANYIO_THREAD_NAME = "AnyIO worker thread"


def release_worker_threads() -> int:
    """Tell anyio's idle pool threads to end (a busy one ends after its call); how many.
    Call from the event loop's thread, last in the lifespan, when nothing will use them."""
    released = 0
    for thread in threading.enumerate():
        stop = getattr(thread, "stop", None)
        if thread.name == ANYIO_THREAD_NAME and callable(stop):
            try:
                stop()
            except Exception:  # a full queue: it is busy, and ends with its loop's task
                log.debug("could not stop %s", thread.name, exc_info=True)
                continue
            released += 1
    return released
