"""Throwaway PostgreSQL servers (a primary, streaming replicas) and PgBouncer for tests: our own
processes, run as the `postgres` user when we are root, in temp folders, stopped by pid or by
pg_ctl on their own data folder -- never the machine's PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("BRISK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root: drop to `postgres` when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def owned_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def pg_available() -> bool:
    return (PG_BIN / "initdb").exists() and (os.geteuid() != 0 or shutil.which("runuser"))


def _run(command: list[str], timeout: float = 120) -> None:
    subprocess.run(as_postgres(command), check=True, capture_output=True, timeout=timeout)


@dataclass
class PostgresNode:
    """One PostgreSQL server on 127.0.0.1:`port` with its data in `data`."""

    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"),
              "-w", "-t", "60", "start"])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])


def init_primary(root: Path, port: int) -> PostgresNode:
    """A fresh primary that accepts streaming replicas (trust on loopback only)."""
    data = owned_dir(root) / "primary"
    _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-N"])
    conf = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{root}'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        # A test server: durability of the OS cache is enough (nothing here kills the host).
        "fsync": "off",
        "synchronous_commit": "on",
        "shared_buffers": "64MB",
        "max_connections": "200",
    }
    with (data / "postgresql.auto.conf").open("a") as f:
        f.writelines(f"{k} = {v}\n" for k, v in conf.items())
    node = PostgresNode(data, port)
    node.start()
    return node


def init_replica(root: Path, primary: PostgresNode, port: int, name: str) -> PostgresNode:
    """A hot standby streaming from `primary` (pg_basebackup -R)."""
    data = root / name
    _run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
          "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast"])  # fmt: skip
    with (data / "postgresql.auto.conf").open("a") as f:
        f.write(f"port = {port}\n")
    node = PostgresNode(data, port)
    node.start()
    return node


@dataclass
class PgBouncer:
    """PgBouncer on 127.0.0.1:`port`, transaction pooling, trust auth."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, databases: dict[str, str], pool_size: int = 10) -> None:
        owned_dir(self.root)
        (self.root / "userlist.txt").write_text('"postgres" ""\n')
        lines = "\n".join(f"{name} = {target}" for name, target in databases.items())
        config = self.root / "pgbouncer.ini"
        config.write_text(
            f"[databases]\n{lines}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 1000\n"
            f"admin_users = postgres\nlogfile = {self.root / 'pgbouncer.log'}\n"
        )
        self.process = subprocess.Popen(
            as_postgres([PGBOUNCER, str(config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while "listening on" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {self.log()[-2000:]}")
            time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # runuser forwards SIGTERM to pgbouncer (its child), which shuts down at once.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
