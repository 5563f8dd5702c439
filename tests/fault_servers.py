"""A PostgreSQL cluster of our own for tests that stop, crash and restart it: initdb in a temp
folder (as the `postgres` user when we are root), its own port, stopped only by its own pg_ctl.
Never the machine's PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("BRISK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnPostgres:
    """`with OwnPostgres(max_connections=...) as pg:` -- pg.url, pg.crash(), pg.start(), ..."""

    def __init__(self, *, max_connections: int = 100, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="brisk-fault-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def __enter__(self) -> OwnPostgres:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            f"-c max_connections={self.max_connections} -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def crash(self) -> None:
        """Immediate shutdown: every backend dies at once, no checkpoint (recovery on start)."""
        self._run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
