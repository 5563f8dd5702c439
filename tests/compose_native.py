"""deploy/compose/compose.yaml's services run natively, for tests on a machine without Docker:
each service's own command and mounted files, its host names given by a hosts file (as Docker
gives a container its /etc/hosts) and its ports by free ones here."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import yaml

from tests.conftest import REPO_ROOT
from tests.pg_servers import PG_BIN, as_postgres, owned_dir

COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """The service's bind mounts: path in the container -> file in the repository."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = COMPOSE_DIR / source
    return found


def copy_mounts(service: dict[str, Any], root: Path) -> dict[str, Path]:
    """Each mounted file at its container path under `root`, readable by the postgres user
    (a bind mount is read by the container's user; a clone may sit in a folder closed to it)."""
    files = {}
    for target, source in mounts(service).items():
        files[target] = root / target.lstrip("/")
        owned_dir(files[target].parent)
        shutil.copy(source, files[target])
        if os.geteuid() == 0:
            shutil.chown(files[target], "postgres")
    return files


def settings_of(command: str) -> dict[str, str]:
    return dict(re.findall(r"-c (\w+)=(\S+)", command))


def free_port_on(*hosts: str, bus: bool = False) -> int:
    """A port free on every one of `hosts` (and its cluster bus port, +10000, with `bus`)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        wanted = [port, port + 10_000] if bus else [port]
        if all(p < 65536 and _free(h, p) for h in hosts for p in wanted):
            return port
    raise RuntimeError(f"no port free on {hosts}")


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Network:
    """The compose network's names and ports, here: service -> loopback address, and
    (service, port in compose.yaml) -> the free port that service listens on instead."""

    def __init__(self, root: Path, addresses: dict[str, str]) -> None:
        self.addresses = addresses
        self.ports: dict[tuple[str, int], int] = {}
        self.hosts = root / "hosts"
        lines = [f"{address} {name}\n" for name, address in addresses.items()]
        self.hosts.write_text("127.0.0.1 localhost\n" + "".join(lines))
        self.hosts.chmod(0o644)

    def native(self, text: str) -> str:
        """`text` (a URL list, a config file) with each service's compose port made ours."""
        for (name, port), ours in self.ports.items():
            text = re.sub(rf"\b{re.escape(name)}:{port}\b", f"{name}:{ours}", text)
            text = re.sub(rf"(host={re.escape(name)} port=){port}\b", rf"\g<1>{ours}", text)
        return text

    def run_in(self, command: list[str], binds: dict[str, Path] | None = None) -> list[str]:
        """`command` in a mount namespace of its own where /etc/hosts is this network's and
        each of `binds` (container path -> folder here) is mounted, as a container's are."""
        binds = {"/etc/hosts": self.hosts, **(binds or {})}
        script = " && ".join(
            f"mount --bind '{source}' '{target}'" for target, source in binds.items()
        )
        return ["unshare", "--mount", "sh", "-c", f'{script} && exec "$@"', "sh", *command]


def namespaces_available() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    tried = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=10)
    return tried.returncode == 0


def stop_postgres(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip


def wait_for(process: subprocess.Popen[Any] | None) -> None:
    if process is None:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def until(query: str, url: str, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while True:
        try:
            conn = await asyncpg.connect(url, timeout=2)
            try:
                value = await conn.fetchval(query)
            finally:
                await conn.close()
            if value:
                return value
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{query!r} on {url}: {exc}") from exc
        assert time.monotonic() < deadline, f"{query!r} never true on {url}"
        await asyncio.sleep(0.2)


def start_primary(root: Path, port: int, log: IO[bytes]) -> tuple[Path, subprocess.Popen[bytes]]:
    """postgres-primary: initdb as the image does from its environment, then its command."""
    service = services()["postgres-primary"]
    env = service["environment"]
    data = root / "primary"
    (root / "pw").write_text(env["POSTGRES_PASSWORD"])
    shutil.chown(root / "pw", "postgres") if os.geteuid() == 0 else None
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", env["POSTGRES_USER"]]
    initdb += ["--pwfile", str(root / "pw"), "--auth-local=trust", "-N"]
    initdb += env["POSTGRES_INITDB_ARGS"].split()
    subprocess.run(as_postgres(initdb), check=True, capture_output=True, timeout=120)
    files = copy_mounts(service, root / "primary-mounts")
    command = [str(PG_BIN / "postgres"), "-D", str(data)]
    for name, value in settings_of(service["command"]).items():
        command += ["-c", f"{name}={files.get(value, value)}"]  # a mounted file: its copy
    command += ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1"]
    command += ["-c", f"unix_socket_directories={root}"]
    server = subprocess.Popen(as_postgres(command), stderr=log)
    return data, server


async def initialise_primary(primary_port: int) -> str:
    """What the postgres image's entrypoint does on a first start: POSTGRES_DB, then the
    mounted /docker-entrypoint-initdb.d scripts. Returns the admin URL (scram, over TCP)."""
    service = services()["postgres-primary"]
    env = service["environment"]
    admin = (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@127.0.0.1:{primary_port}"
    )
    await until("SELECT 1", f"{admin}/postgres")
    conn = await asyncpg.connect(f"{admin}/postgres")
    await conn.execute(f'CREATE DATABASE "{env["POSTGRES_DB"]}"')
    await conn.close()
    conn = await asyncpg.connect(f"{admin}/{env['POSTGRES_DB']}")
    for target, source in mounts(service).items():
        if target.startswith("/docker-entrypoint-initdb.d/"):
            await conn.execute(source.read_text())
    await conn.close()
    return admin


def start_replica(
    root: Path, primary_port: int, replica_port: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """postgres-replica: its own script, pointed at this primary and folder."""
    spec = services()["postgres-replica"]
    script = spec["command"][0]
    script = script.replace("-h postgres-primary", f"-h 127.0.0.1 -p {primary_port}")
    script = script.replace("/var/lib/postgresql/data", str(root / "replica"))
    script = script.replace(
        "exec postgres", f"exec postgres -c port={replica_port} -c unix_socket_directories={root}"
    )
    env = {
        **os.environ,
        **spec["environment"],
        "PATH": f"{PG_BIN}:{os.environ['PATH']}",
        "PGDATA": str(root / "replica"),  # the postgres image's own ENV
    }
    return subprocess.Popen(
        as_postgres(["timeout", "120", "bash", "-c", script]), env=env, stderr=log
    )


def run_migrate(primary_port: int) -> subprocess.CompletedProcess[str]:
    """The migrate service: its environment (host name pointed here) and its command."""
    service = services()["migrate"]
    env = {
        k: str(v).replace("postgres-primary:5432", f"127.0.0.1:{primary_port}")
        for k, v in service["environment"].items()
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
    return subprocess.run(
        [sys.executable, "-m", "brisk.cli", *service["command"][1:]],
        env={**clean, **env}, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def scratch_root(prefix: str) -> Iterator[Path]:
    """A temp folder the postgres user (and any other) can reach, unlike tmp_path, whose base
    is 0700; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)  # noqa: S103 - servers run as other users must reach their folders
    try:
        yield owned_dir(path)
    finally:  # also when a test's own loop over this generator ends by an exception
        shutil.rmtree(path, ignore_errors=True)
