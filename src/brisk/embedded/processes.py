"""Ports and processes of the embedded servers: free ports, pid files, waiting and stopping."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def _free_port() -> int:
    # An ephemeral port from the kernel, so never the system servers' 5432 or 6379.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing accepts connections on {HOST}:{port}") from None
            time.sleep(0.05)


def _read_pid(pidfile: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(pidfile.read_text().split()[0])
    return None


def _gone(proc: psutil.Process) -> bool:
    # Zombies count as gone: they are dead, only not yet reaped by their (new) parent.
    try:
        return not proc.is_running() or bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _wait_gone(proc: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _terminate(proc: psutil.Process, sig: signal.Signals) -> None:
    """Signal a server and wait for it to exit; kill it and its children if it will not."""
    children: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        children = proc.children(recursive=True)
        proc.send_signal(sig)
    if _wait_gone(proc, STOP_TIMEOUT):
        return
    log.warning("pid %d ignored %s for %.0fs; killing it", proc.pid, sig.name, STOP_TIMEOUT)
    for each in (proc, *children):
        with contextlib.suppress(psutil.Error):
            each.kill()
    _wait_gone(proc, STOP_TIMEOUT)
