"""deploy/compose/compose.yaml as far as a machine without Docker can check it: the file against
the Compose Specification's schema, then the services' own commands and files run natively --
the primary with its mounted pg_hba.conf and init SQL, the replica's pg_basebackup script, the
migrate service's environment, and nginx's site file in front of a stand-in upstream.
(PgBouncer, the Redis Cluster's init and brisk behind them: test_compose_app_tier.py; three
instances behind nginx: tests/cluster.)"""

from __future__ import annotations

import asyncio
import http.server
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.compose_native import (
    COMPOSE,
    COMPOSE_DIR,
    initialise_primary,
    run_migrate,
    scratch_root,
    start_primary,
    start_replica,
    stop_postgres,
    until,
    wait_for,
)
from tests.pg_servers import pg_available
from tests.redis_servers import free_port

pytestmark = pytest.mark.integration

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


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


@pytest.fixture
def root() -> Iterator[Path]:
    yield from scratch_root("brisk-compose-")


def test_primary_replica_and_migrate_run_as_compose_says(root: Path) -> None:
    if not pg_available():
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    with (root / "primary.log").open("wb") as primary, (root / "replica.log").open("wb") as replica:
        asyncio.run(_primary_replica_and_migrate(root, primary, replica))


async def _primary_replica_and_migrate(
    root: Path, primary_log: IO[bytes], replica_log: IO[bytes]
) -> None:
    primary_port, replica_port = free_port(), free_port()
    data, primary = await asyncio.to_thread(start_primary, root, primary_port, primary_log)
    replica: subprocess.Popen[bytes] | None = None
    try:
        admin = await initialise_primary(primary_port)  # over TCP: scram-sha-256
        # The replica connects from another container: a replication rule for any address
        # (initdb's own file allows only loopback, which is why the compose replica never ran).
        replication_rules = (
            "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)"
            " AND 'replicator' = ANY(user_name) AND address = 'all'"
        )
        assert await until(replication_rules, f"{admin}/postgres", within=5) == 1
        replica = await asyncio.to_thread(
            start_replica, root, primary_port, replica_port, replica_log
        )
        replica_url = f"{admin.rsplit(':', 1)[0]}:{replica_port}/brisk"
        try:
            assert await until("SELECT pg_is_in_recovery()", replica_url, within=90)
        except AssertionError as exc:
            log = (root / "replica.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}\nreplica:\n{log}") from exc
        streaming = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        assert await until(streaming, f"{admin}/brisk")

        migrated = await asyncio.to_thread(run_migrate, primary_port)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        # BRISK_DB__PGBOUNCER: the role's default, since PgBouncer does not pass it on.
        role_default = "SELECT setconfig::text FROM pg_db_role_setting"
        assert "plan_cache_mode=force_generic_plan" in await until(role_default, f"{admin}/brisk")
        # ... and the schema streamed to the replica.
        assert await until("SELECT to_regclass('public.users') IS NOT NULL", replica_url)
    finally:
        stop_postgres(root / "replica")
        stop_postgres(data)
        for process in (replica, primary):
            wait_for(process)


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
