"""The whole deployment on one machine, without containers: a PostgreSQL primary with a streaming
replica behind PgBouncer (transaction mode), a Redis Cluster (3 masters + 3 replicas), three
`brisk serve` instances and nginx in front, rendered from deploy/nginx/brisk.conf.

Every process is ours, in one temp folder, stopped by pid (or pg_ctl on its own data folder).
Every port comes from the OS (port 0), never a fixed range: two runs at once must not collide
(checking that a fixed port looks free and binding it later is a race).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, TEST_SECRET
from tests.pg_servers import PgBouncer, PostgresNode, init_primary, init_replica, owned_dir
from tests.redis_servers import RedisFleet, free_ports, start_cluster

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_EXAMPLE = REPO_ROOT / "deploy" / "nginx" / "brisk.conf"


@dataclass
class Ports:
    postgres: list[int]
    pgbouncer: int
    redis: list[int]
    brisk: list[int]
    nginx: int

    @classmethod
    def free(cls) -> Ports:
        """From one call, so no two are the same port. Every one's cluster bus port is kept free
        as well, though only the six Redis nodes use theirs: simpler than two calls that could be
        offered each other's ports."""
        ports = free_ports(2 + 1 + 6 + 3 + 1, bus=True)
        return cls(ports[0:2], ports[2], ports[3:9], ports[9:12], ports[12])


def render_nginx(ports: Ports, root: Path, upstreams: list[int] | None = None) -> Path:
    """deploy/nginx/brisk.conf with our upstreams and port, inside a minimal main config."""
    example = NGINX_EXAMPLE.read_text()
    servers = "".join(
        f"    server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;\n"
        for p in (upstreams or ports.brisk)
    )
    site, count = re.subn(r"(    server 10\.0\.0\.\d+:8000[^\n]*\n)+", servers, example)
    assert count == 1, "deploy/nginx/brisk.conf no longer has the upstream list this expects"
    site = site.replace("listen 80;", f"listen 127.0.0.1:{ports.nginx};")
    (root / "brisk.conf").write_text(site)
    main = root / "nginx.conf"
    temp = "".join(
        f"    {kind}_temp_path {root / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main.write_text(
        f"worker_processes 1;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log off;\n{temp}    include {root / 'brisk.conf'};\n}}\n"
    )
    return main


@dataclass
class Stack:
    root: Path
    ports: Ports = field(default_factory=Ports.free)
    primary: PostgresNode | None = None
    replica: PostgresNode | None = None
    bouncer: PgBouncer | None = None
    redis: RedisFleet | None = None
    brisk: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    nginx: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports.postgres[0]}/brisk"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports.postgres[1]}/brisk"

    def env(self) -> dict[str, str]:
        assert self.bouncer is not None
        return {
            **os.environ,
            "BRISK_DATABASE_URL": self.bouncer.url("brisk"),
            "BRISK_DATABASE_REPLICA_URLS": self.bouncer.url("brisk_replica"),
            "BRISK_DB__PGBOUNCER": "true",
            "BRISK_REDIS_URL": "redis://"
            + ",".join(f"127.0.0.1:{port}" for port in self.ports.redis[:3]),
            "BRISK_REDIS__MODE": "cluster",
            "BRISK_SECRET_KEY": TEST_SECRET,
            "BRISK_HTTP__TRUSTED_PROXIES": '["127.0.0.1"]',
            # Load tests register many users from one address.
            "BRISK_LIMITS__REGISTER_PER_ADDRESS": "100000/minute",
            "BRISK_LIMITS__LOGIN_PER_ADDRESS": "100000/minute",
            "BRISK_CACHE__NAMESPACE": f"brisk-cluster-{self.ports.nginx}",
            "BRISK_HTTP__DRAIN_SECONDS": "0",  # teardown stops every instance at once
            **self.extra_env,
        }

    def start(self) -> None:
        owned_dir(self.root)
        self._start_postgres()
        self._start_pgbouncer()
        self._migrate()
        self.redis = RedisFleet(self.root / "redis")
        start_cluster(self.redis, 3, 1, self.ports.redis)
        for port in self.ports.brisk:
            self.start_brisk(port)
        for port in self.ports.brisk:
            self.wait_ready(f"http://127.0.0.1:{port}")
        self._start_nginx()

    def _start_postgres(self) -> None:
        pg_root = owned_dir(self.root / "pg")
        self.primary = init_primary(pg_root, self.ports.postgres[0])
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.ports.postgres[0]), "-U", "postgres",
             "-qc", "CREATE DATABASE brisk"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.replica = init_replica(pg_root, self.primary, self.ports.postgres[1], "replica")

    def _start_pgbouncer(self) -> None:
        self.bouncer = PgBouncer(self.root / "pgbouncer", self.ports.pgbouncer)
        primary, replica = self.ports.postgres
        self.bouncer.start(
            {
                "brisk": f"host=127.0.0.1 port={primary} dbname=brisk",
                "brisk_replica": f"host=127.0.0.1 port={replica} dbname=brisk",
            },
            pool_size=20,
        )

    def _migrate(self) -> None:
        """`brisk migrate` through PgBouncer, as a deploy would (it sets plan_cache_mode)."""
        subprocess.run(
            [sys.executable, "-m", "brisk.cli", "migrate"],
            env=self.env(), check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start_brisk(self, port: int) -> None:
        with (self.root / f"brisk-{port}.log").open("ab") as log:
            self.brisk[port] = subprocess.Popen(
                [sys.executable, "-m", "brisk.cli", "serve", "--port", str(port)],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill_brisk(self, port: int) -> None:
        process = self.brisk.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def wait_ready(self, base: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{base} not ready within {timeout} s")

    def _start_nginx(self) -> None:
        nginx_root = self.root / "nginx"
        nginx_root.mkdir(parents=True, exist_ok=True)
        config = render_nginx(self.ports, nginx_root)
        base = [NGINX, "-c", str(config), "-p", str(nginx_root), "-e", str(nginx_root / "e.log")]
        subprocess.run([*base, "-t"], check=True, capture_output=True, timeout=30)
        with (nginx_root / "stdout.log").open("ab") as log:
            self.nginx = subprocess.Popen(
                [*base, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready(self.url)

    def route_to(self, upstreams: list[int]) -> None:
        """Send nginx's traffic to these instances only (a graceful reload)."""
        assert self.nginx is not None
        render_nginx(self.ports, self.root / "nginx", upstreams)
        self.nginx.send_signal(signal.SIGHUP)
        time.sleep(1.0)  # old workers finish, new ones take over

    def stop(self) -> None:
        """Everything started here, newest first; each step runs even if one before failed."""
        steps = [self._stop_nginx, self._stop_brisk]
        if self.redis is not None:
            steps.append(self.redis.stop_all)
        if self.bouncer is not None:
            steps.append(self.bouncer.stop)
        for node in (self.replica, self.primary):
            if node is not None:
                steps.append(node.stop)
        for step in steps:
            try:
                step()
            except Exception as exc:  # keep stopping the rest
                print(f"cluster stop: {step.__name__}: {exc!r}", file=sys.stderr)

    def save_logs(self, dest: Path) -> None:
        """Every process's log (brisk, nginx, Redis, PgBouncer, PostgreSQL) copied to `dest`,
        by path under the stack's folder: what a failed run leaves to read."""
        for log in self.root.rglob("*"):
            if log.is_file() and (log.suffix == ".log" or log.name == "log"):
                target = dest / log.relative_to(self.root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, target)

    def _stop_nginx(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)

    def _stop_brisk(self) -> None:
        for process in self.brisk.values():
            process.terminate()
        for process in self.brisk.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.brisk.clear()


def main() -> None:
    """`python -m tests.cluster.stack [seconds]`: start everything, print where, wait, stop."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    stack = Stack(Path(tempfile.mkdtemp(prefix="brisk-cluster-")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print(f"nginx {stack.url}  instances {stack.ports.brisk}  primary {stack.primary_url}  "
              f"replica {stack.replica_url}  redis {stack.ports.redis}  root {stack.root}",
              flush=True)  # fmt: skip
        time.sleep(seconds)
    finally:
        stack.stop()
        shutil.rmtree(stack.root, ignore_errors=True)


if __name__ == "__main__":
    main()
