"""What every embedded server provides: launch, recognise its process, stop only its own."""

from __future__ import annotations

import contextlib
import logging
import signal
from abc import ABC, abstractmethod
from pathlib import Path

import psutil

from brisk.embedded.processes import STOP_TIMEOUT, _read_pid, _terminate, _wait_gone

log = logging.getLogger(__name__)


class _Server(ABC):
    """One kind of embedded server: how to launch it, recognise it and stop it."""

    name: str
    # Appears in the server's command line and ties the process to this data dir.
    marker: str
    pidfile: Path
    stop_signal: signal.Signals
    # Whether a pid file naming a dead process is left for the server to clean up itself.
    keep_dead_pidfile: bool

    @abstractmethod
    def launch(self) -> tuple[int, int]:
        """Start a server and wait until it is ready; return its pid and port."""

    @abstractmethod
    def shutdown(self) -> None:
        """Ask the server this object launched to stop."""

    def process(self, pid: int | None) -> psutil.Process | None:
        """The live server with this pid, or None (also for a pid recycled by another program)."""
        if not pid:
            return None
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and self.marker in proc.cmdline():
                return proc
        return None

    def clear_stale_pidfile(self) -> None:
        pid = _read_pid(self.pidfile)
        if pid is None or self.process(pid) is not None:
            return
        if self.keep_dead_pidfile and not psutil.pid_exists(pid):
            return
        log.info("removing stale %s (pid %d is not a %s server)", self.pidfile, pid, self.name)
        self.pidfile.unlink(missing_ok=True)

    def stop(self, pid: int) -> None:
        """Stop the server this object launched, if it is still the one running as pid."""
        proc = self.process(pid)
        if proc is None:
            return
        try:
            self.shutdown()
            graceful = True
        except Exception:
            log.warning("graceful %s shutdown failed; signalling it", self.name, exc_info=True)
            graceful = False
        if not (graceful and _wait_gone(proc, STOP_TIMEOUT)):
            _terminate(proc, self.stop_signal)
