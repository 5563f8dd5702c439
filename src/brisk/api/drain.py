"""Draining on SIGTERM: readiness answers 503 for a while before the server stops accepting.

A load balancer that polls `/health/ready` needs a few periods to take an instance out; if the
server closed its socket at once, requests routed to it meanwhile would be refused. So the first
SIGTERM only marks the process as draining (it keeps serving everything), and the server's own
graceful shutdown starts `seconds` later. A second SIGTERM, or SIGINT (Ctrl-C), stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self._previous: Any = None
        self._installed = False

    def install(self) -> None:
        """Wrap the SIGTERM handler the server installed (uvicorn sets it before the lifespan
        starts), so that its shutdown begins only after the drain period."""
        if self.seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
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
        if self.draining:  # asked twice: stop now
            self._previous(signum, frame)
            return
        self.draining = True
        log.info("SIGTERM: readiness is 503 now; shutting down in %g s", self.seconds)
        # The handler runs on the main thread, which runs the event loop (the server's loop
        # wakes at least every 0.1 s, so the timer fires on time).
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop running (yet or any more): nothing to drain
            self._previous(signum, frame)
            return
        loop.call_later(self.seconds, self._previous, signum, None)
