"""deploy/compose/compose.yaml as far as a machine without Docker can check it: the file against
the Compose Specification's schema, then the services' own commands and files run natively --
the primary with its mounted pg_hba.conf and init SQL, the replica's pg_basebackup script, the
migrate service's environment, and nginx's site file in front of a stand-in upstream.
(Three brisk instances on PgBouncer and a Redis Cluster, behind nginx: tests/cluster.)"""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.pg_servers import PG_BIN, as_postgres, owned_dir, pg_available
from tests.redis_servers import free_port

pytestmark = pytest.mark.integration

COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    checked = validate(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The check can fail: the same file with one service key misspelt.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:", "    healthchek:", 1))
    assert validate(broken).returncode != 0


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """The service's bind mounts: path in the container -> file in the repository."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = COMPOSE_DIR / source
    return found


def settings_of(command: str) -> dict[str, str]:
    return dict(re.findall(r"-c (\w+)=(\S+)", command))


@pytest.fixture
def root() -> Iterator[Path]:
    # Not tmp_path: its base is 0700, closed to the postgres user the servers run as.
    path = Path(tempfile.mkdtemp(prefix="brisk-compose-"))
    os.chmod(path, 0o755)  # noqa: S103 - the postgres user must reach its folders inside
    yield owned_dir(path)
    shutil.rmtree(path, ignore_errors=True)


def _stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip


async def _until(query: str, url: str, within: float = 60) -> Any:
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
    # A bind mount is read by the container's user: copy the repository's files where the
    # postgres user can read them (a clone may sit in a folder closed to other users).
    files = {}
    for target, source in mounts(service).items():
        files[target] = root / "mounts" / Path(target).name
        owned_dir(files[target].parent)
        shutil.copy(source, files[target])
        if os.geteuid() == 0:
            shutil.chown(files[target], "postgres")
    command = [str(PG_BIN / "postgres"), "-D", str(data)]
    for name, value in settings_of(service["command"]).items():
        command += ["-c", f"{name}={files.get(value, value)}"]  # a mounted file: its copy
    command += ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1"]
    command += ["-c", f"unix_socket_directories={root}"]
    server = subprocess.Popen(as_postgres(command), stderr=log)
    return data, server


def test_primary_replica_and_migrate_run_as_compose_says(root: Path) -> None:
    if not pg_available():
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    with (root / "primary.log").open("wb") as primary, (root / "replica.log").open("wb") as replica:
        asyncio.run(_primary_replica_and_migrate(root, primary, replica))


async def _primary_replica_and_migrate(
    root: Path, primary_log: IO[bytes], replica_log: IO[bytes]
) -> None:
    every = services()
    env = every["postgres-primary"]["environment"]
    primary_port, replica_port = free_port(), free_port()
    user, password = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]
    admin = f"postgresql://{user}:{password}@127.0.0.1:{primary_port}"
    data, primary = await asyncio.to_thread(start_primary, root, primary_port, primary_log)
    replica: subprocess.Popen[bytes] | None = None
    try:
        await _until("SELECT 1", f"{admin}/postgres")  # over TCP: scram-sha-256
        # The replica connects from another container: a replication rule for any address
        # (initdb's own file allows only loopback, which is why the compose replica never ran).
        replication_rules = (
            "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)"
            " AND 'replicator' = ANY(user_name) AND address = 'all'"
        )
        assert await _until(replication_rules, f"{admin}/postgres", within=5) == 1
        conn = await asyncpg.connect(f"{admin}/postgres")
        await conn.execute(f'CREATE DATABASE "{env["POSTGRES_DB"]}"')
        await conn.close()
        conn = await asyncpg.connect(f"{admin}/{env['POSTGRES_DB']}")
        for target, source in mounts(every["postgres-primary"]).items():
            if target.startswith("/docker-entrypoint-initdb.d/"):
                await conn.execute(source.read_text())
        await conn.close()

        # postgres-replica: its own script, pointed at this primary and folder.
        spec = every["postgres-replica"]
        script = spec["command"][0]
        script = script.replace("-h postgres-primary", f"-h 127.0.0.1 -p {primary_port}")
        script = script.replace("/var/lib/postgresql/data", str(root / "replica"))
        script = script.replace(
            "exec postgres",
            f"exec postgres -c port={replica_port} -c unix_socket_directories={root}",
        )
        replica_env = {
            **os.environ,
            **spec["environment"],
            "PATH": f"{PG_BIN}:{os.environ['PATH']}",
            "PGDATA": str(root / "replica"),  # the postgres image's own ENV
        }
        replica = await asyncio.to_thread(
            subprocess.Popen,
            as_postgres(["timeout", "120", "bash", "-c", script]),
            env=replica_env,
            stderr=replica_log,
        )
        replica_url = f"postgresql://{user}:{password}@127.0.0.1:{replica_port}/brisk"
        try:
            assert await _until("SELECT pg_is_in_recovery()", replica_url, within=90)
        except AssertionError as exc:
            log = (root / "replica.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}\nreplica:\n{log}") from exc
        streaming = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        assert await _until(streaming, f"{admin}/brisk")

        # migrate: its environment, its host name pointed here.
        migrate_env = {
            k: str(v).replace("postgres-primary:5432", f"127.0.0.1:{primary_port}")
            for k, v in every["migrate"]["environment"].items()
        }
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
        migrated = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "brisk.cli", *every["migrate"]["command"][1:]],
            env={**clean, **migrate_env}, capture_output=True, text=True, timeout=180,
            check=False,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        # BRISK_DB__PGBOUNCER: the role's default, since PgBouncer does not pass it on.
        role_default = "SELECT setconfig::text FROM pg_db_role_setting"
        assert "plan_cache_mode=force_generic_plan" in await _until(role_default, f"{admin}/brisk")
        # ... and the schema streamed to the replica.
        assert await _until("SELECT to_regclass('public.users') IS NOT NULL", replica_url)
    finally:
        _stop(root / "replica")
        _stop(data)
        for process in (replica, primary):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"tags": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_compose_nginx_keeps_metrics_and_perf_inside(tmp_path: Path) -> None:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    site = (COMPOSE_DIR / "nginx.conf").read_text()
    site = re.sub(r"server brisk-\d:8000", f"server 127.0.0.1:{upstream.server_port}", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp_path / "site.conf").write_text(site)
    temp = "".join(f"  {k}_temp_path {tmp_path / k};\n" for k in ("client_body", "proxy"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log off;\n{temp}  include {tmp_path / 'site.conf'};\n}}\n"
    )
    nginx = subprocess.Popen(
        [NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", "stderr"],
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                tags = httpx.get(f"{base}/api/tags", timeout=2)
                break
            except httpx.TransportError:
                assert nginx.poll() is None, (tmp_path / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        assert tags.status_code == 200  # the API goes through
        assert httpx.get(f"{base}/metrics", timeout=2).status_code == 403
        assert httpx.get(f"{base}/_perf", timeout=2).status_code == 403
        assert httpx.get(f"{base}/_perf/data", timeout=2).status_code == 403
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()
