"""`brisk serve` as a real process for tests that need one: start it, wait until ready, stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import TEST_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:PORT
    log: Path
    log_file: IO[bytes]

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server and wait for it to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        finally:
            self.log_file.close()


def serve(
    database_url: str,
    redis_url: str | None,
    log: Path,
    *args: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    new_session: bool = False,
) -> Served:
    """Start `brisk serve` on a free port (returns at once; see wait_ready); `new_session`:
    in a process group of its own, which the test may signal whole (os.killpg)."""
    port = port or free_port()
    environment = {
        **os.environ,
        "BRISK_DATABASE_URL": database_url,
        "BRISK_REDIS_URL": redis_url or "",
        "BRISK_SECRET_KEY": TEST_SECRET,
        # No load balancer to drain from: stop at once (test_readiness.py sets a drain).
        "BRISK_HTTP__DRAIN_SECONDS": "0",
        **(env or {}),
    }
    log_file = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "brisk.cli", "serve", "--port", str(port), *args],
        env=environment,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=new_session,
    )
    return Served(process, f"http://127.0.0.1:{port}", log, log_file)


async def wait_ready(served: Served, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if served.process.poll() is not None:
                pytest.fail(f"brisk serve exited during startup:\n{served.output()[-3000:]}")
            try:
                if (await client.get(f"{served.base}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"brisk serve was not ready within {within} s:\n{served.output()[-3000:]}")
