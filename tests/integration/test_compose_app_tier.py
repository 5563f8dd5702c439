"""deploy/compose/compose.yaml's app tier, natively: PgBouncer with the very pgbouncer.ini and
userlist the compose mounts (at their container paths), the three Redis nodes with the compose's
command and the redis-cluster-init script, then a brisk instance with the services' environment
behind them, checked by the compose's own healthcheck command.

Each process runs in a mount namespace of its own where /etc/hosts names the compose services
(as Docker's does), each listening on a free port instead of the compose one; nothing else in
the files is changed, except what the installed PgBouncer predates (said below)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from tests.compose_native import (
    Network,
    copy_mounts,
    free_port_on,
    initialise_primary,
    namespaces_available,
    run_migrate,
    scratch_root,
    services,
    start_primary,
    start_replica,
    stop_postgres,
    until,
    wait_for,
)
from tests.pg_servers import PGBOUNCER, as_postgres, pg_available

pytestmark = pytest.mark.integration

REDIS_NODES = ("redis-1", "redis-2", "redis-3")
# Each Redis node listens on the same port, as in the compose, so each needs its own address.
ADDRESSES = {
    "postgres-primary": "127.0.0.1",
    "postgres-replica": "127.0.0.1",
    "pgbouncer": "127.0.0.1",
    **{node: f"127.0.0.{2 + i}" for i, node in enumerate(REDIS_NODES)},
}
# pgbouncer.ini settings newer than some PgBouncer a machine may have (Debian 12 has 1.18;
# the compose's image is 1.23): a release that predates one refuses the whole file.
PGBOUNCER_SINCE = {"max_prepared_statements": (1, 21)}


def _missing() -> str | None:
    if not pg_available():
        return "PostgreSQL server binaries (initdb) are not installed"
    if not Path(PGBOUNCER).exists():
        return "pgbouncer is not installed (apt-get install pgbouncer)"
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        return "redis-server and redis-cli are not installed"
    if not namespaces_available():
        return "needs root and `unshare --mount` (each service gets the compose's /etc/hosts)"
    return None


@pytest.fixture
def root() -> Iterator[Path]:
    yield from scratch_root("brisk-compose-app-")


def test_pgbouncer_redis_cluster_and_brisk_run_as_compose_says(root: Path) -> None:
    missing = _missing()
    if missing:
        pytest.skip(missing)
    network = Network(root, ADDRESSES)
    with (root / "primary.log").open("wb") as primary, (root / "replica.log").open("wb") as replica:
        asyncio.run(_app_tier(root, network, primary, replica))


async def _app_tier(
    root: Path, network: Network, primary_log: IO[bytes], replica_log: IO[bytes]
) -> None:
    ports = network.ports
    for name, port in (("postgres-primary", 5432), ("postgres-replica", 5432), ("pgbouncer", 6432)):
        ports[name, port] = free_port_on("127.0.0.1")
    redis_port = free_port_on(*(ADDRESSES[n] for n in REDIS_NODES), bus=True)
    ports.update({(node, 6379): redis_port for node in REDIS_NODES})
    processes: list[subprocess.Popen[bytes]] = []
    data, primary = await asyncio.to_thread(
        start_primary, root, ports["postgres-primary", 5432], primary_log
    )
    try:
        await initialise_primary(ports["postgres-primary", 5432])
        processes.append(
            start_replica(
                root, ports["postgres-primary", 5432], ports["postgres-replica", 5432], replica_log
            )
        )
        migrated = await asyncio.to_thread(run_migrate, ports["postgres-primary", 5432])
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        bouncer, dropped = start_pgbouncer(root, network)
        processes.append(bouncer)
        await check_pgbouncer(root, network)
        await asyncio.to_thread(start_redis_cluster, root, network, processes)
        await check_brisk(root, network, statement_cache_off=bool(dropped))
    finally:
        stop_postgres(root / "replica")
        stop_postgres(data)
        for process in processes:
            if process.poll() is None:
                process.terminate()
            wait_for(process)
        wait_for(primary)


def pgbouncer_version() -> tuple[int, int]:
    shown = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True, timeout=10)
    found = re.search(r"PgBouncer (\d+)\.(\d+)", shown.stdout)
    assert found, shown.stdout
    return int(found[1]), int(found[2])


def start_pgbouncer(root: Path, network: Network) -> tuple[subprocess.Popen[bytes], list[str]]:
    """The pgbouncer service: its command, the files it mounts at /etc/pgbouncer. Returns the
    process and the settings left out because the installed PgBouncer predates them."""
    service = services()["pgbouncer"]
    files = copy_mounts(service, root / "pgbouncer-fs")
    ini = files["/etc/pgbouncer/pgbouncer.ini"]
    text = network.native(ini.read_text())
    text = text.replace("listen_addr = 0.0.0.0", f"listen_addr = {ADDRESSES['pgbouncer']}")
    text = text.replace("listen_port = 6432", f"listen_port = {network.ports['pgbouncer', 6432]}")
    installed = pgbouncer_version()
    dropped = [name for name, since in PGBOUNCER_SINCE.items() if installed < since]
    for name in dropped:
        text = re.sub(rf"(?m)^{name} = .*\n", "", text)
    ini.write_text(text)
    assert service["command"][1] == "/etc/pgbouncer/pgbouncer.ini"
    command = [PGBOUNCER, *service["command"][1:]]
    with (root / "pgbouncer.log").open("wb") as log:
        process = subprocess.Popen(
            network.run_in(as_postgres(command), {"/etc/pgbouncer": ini.parent}), stderr=log
        )
    return process, dropped


async def check_pgbouncer(root: Path, network: Network) -> None:
    """scram-sha-256 with the userlist's password, transaction pooling, and both databases."""
    base = f"127.0.0.1:{network.ports['pgbouncer', 6432]}"
    url = f"postgresql://brisk:brisk@{base}/brisk"
    try:
        await until("SELECT 1", url, within=20)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{(root / 'pgbouncer.log').read_text()[-3000:]}") from exc
    # PgBouncer answers a failed SCRAM exchange with a protocol error, not 28P01.
    with pytest.raises(asyncpg.PostgresError, match="SASL authentication failed"):
        await asyncpg.connect(f"postgresql://brisk:wrong@{base}/brisk", timeout=5)
    # Transaction pooling: while the first client stays connected, the second client's
    # transaction runs on the same server session (session pooling would open another).
    first = await asyncpg.connect(url, statement_cache_size=0)
    second = await asyncpg.connect(url, statement_cache_size=0)
    try:
        pids = [await c.fetchval("SELECT pg_backend_pid()") for c in (first, second)]
    finally:
        await first.close()
        await second.close()
    assert pids[0] == pids[1]
    replica = f"postgresql://brisk:brisk@{base}/brisk_replica"
    assert await until("SELECT pg_is_in_recovery()", replica, within=90)


def start_redis_cluster(root: Path, network: Network, nodes: list[subprocess.Popen[bytes]]) -> None:
    """redis-1..3 with the compose's command, then redis-cluster-init's script (twice: the
    second run finds the cluster ok and leaves it alone)."""
    every = services()
    for node in REDIS_NODES:
        command = shlex.split(
            every[node]["command"].replace("6379", str(network.ports[node, 6379]))
        )
        # A container has one address: its redis listens on it (binding "every" address) and
        # its connections come from it (else the cluster bus's handshakes never match).
        command += ["--bind", ADDRESSES[node], "--bind-source-addr", ADDRESSES[node]]
        workdir = root / node  # the image's WORKDIR, /data (append-only file, nodes.conf)
        workdir.mkdir()
        with (workdir / "redis.log").open("wb") as log:
            nodes.append(
                subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
            )
    init = every["redis-cluster-init"]
    assert init["entrypoint"] == ["sh", "-c"]
    port = network.ports[REDIS_NODES[0], 6379]
    script = init["command"][0].replace("$$", "$").replace("6379", str(port))  # compose's $$ is $
    for run in ("create", "again"):
        done = subprocess.run(
            network.run_in(["timeout", "90", "sh", "-c", script]),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{run}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert ("slots" in done.stdout) == (run == "create"), done.stdout[-2000:]
    for node in REDIS_NODES:
        info = _cluster_info(ADDRESSES[node], port)
        assert info.get("cluster_state") == "ok", info
        assert info["cluster_size"] == "3", info  # three masters share the slots


def _cluster_info(host: str, port: int) -> dict[str, str]:
    deadline = time.monotonic() + 15
    while True:
        shown = subprocess.run(
            ["redis-cli", "-h", host, "-p", str(port), "cluster", "info"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        info = dict(line.split(":", 1) for line in shown.stdout.split() if ":" in line)
        if info.get("cluster_state") == "ok" or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def brisk_environment(network: Network, metrics: int, statement_cache_off: bool) -> dict[str, str]:
    """brisk-1's environment (the x-brisk anchor) with our ports and a secret of our own."""
    env = {k: network.native(str(v)) for k, v in services()["brisk-1"]["environment"].items()}
    assert env["BRISK_SECRET_KEY"].startswith("${BRISK_SECRET_KEY:?")  # set by the operator
    env["BRISK_SECRET_KEY"] = secrets.token_urlsafe(48)
    assert env["BRISK_TELEMETRY__METRICS_ADDRESS"] == "0.0.0.0:9100"
    env["BRISK_TELEMETRY__METRICS_ADDRESS"] = f"127.0.0.1:{metrics}"
    if statement_cache_off:
        # Named prepared statements need PgBouncer 1.21+ (max_prepared_statements, left out
        # above); through an older one they break (tests/integration/test_pgbouncer.py).
        env["BRISK_DB__STATEMENT_CACHE_SIZE"] = "0"
    return env


def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The brisk services' healthcheck command (CMD form), at our port, by this Python."""
    test = services()["brisk-1"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    command = [sys.executable, *(arg.replace(":8000/", f":{port}/") for arg in test[2:])]
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)


def start_brisk(
    root: Path, network: Network, port: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """The image's CMD (deploy/Dockerfile) at our port; its host, 0.0.0.0, is the container's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
    command = [str(Path(sys.executable).with_name("brisk")), "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    with (root / "brisk.log").open("wb") as log:
        # A group of its own: the server's workers (granian's) are stopped with it.
        return subprocess.Popen(
            network.run_in(command), env={**clean, **env}, stderr=log, start_new_session=True
        )


def until_healthy(brisk: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while (checked := healthcheck(port)).returncode != 0:
        assert brisk.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, checked.stderr[-2000:]
        time.sleep(0.3)


async def check_brisk(root: Path, network: Network, *, statement_cache_off: bool) -> None:
    port, metrics = free_port_on("127.0.0.1"), free_port_on("127.0.0.1")
    assert healthcheck(port).returncode != 0  # nothing listens yet: the check can fail
    env = brisk_environment(network, metrics, statement_cache_off)
    brisk = await asyncio.to_thread(start_brisk, root, network, port, env)
    try:
        await asyncio.to_thread(until_healthy, brisk, port, root / "brisk.log")
        await _use_the_api(f"http://127.0.0.1:{port}", metrics)
        brisk.send_signal(signal.SIGTERM)  # readiness turns 503 for the drain: unhealthy
        assert await _eventually_unhealthy(port)
        assert brisk.poll() is None  # ... while it still runs (not merely gone)
    finally:
        # The drain was seen (its end is test_readiness.py's): the whole group, workers too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(brisk.pid, signal.SIGKILL)
        wait_for(brisk)


async def _eventually_unhealthy(port: int) -> bool:
    for _ in range(20):
        if (await asyncio.to_thread(healthcheck, port)).returncode != 0:
            return True
        await asyncio.sleep(0.2)
    return False


async def _use_the_api(base: str, metrics: int) -> None:
    """A write through PgBouncer to the primary, cached reads through the Redis Cluster."""
    user = {"user": {"username": "ops", "email": "ops@example.com", "password": "pw-123456"}}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        created = await client.post("/api/users", json=user)
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Token {created.json()['user']['token']}"}
        body = {
            "article": {"title": "Compose", "description": "d", "body": "b", "tagList": ["ops"]}
        }
        article = await client.post("/api/articles", json=body, headers=auth)
        assert article.status_code == 201, article.text
        slug = article.json()["article"]["slug"]
        for _ in range(2):  # the second read is a cache hit
            read = await client.get(f"/api/articles/{slug}")
            assert read.status_code == 200
            assert read.json()["article"]["title"] == "Compose"
        ready: dict[str, Any] = (await client.get("/health/ready")).json()
        assert (await client.get("/metrics")).status_code == 404  # not on the API port
        scraped = await client.get(f"http://127.0.0.1:{metrics}/metrics")
    assert scraped.status_code == 200
    assert "brisk_" in scraped.text
    assert ready == {"status": "ok", "database": "ok", "redis": "ok"}  # the Cluster answers
