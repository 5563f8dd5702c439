"""Cached anonymous reads against a bare ASGI app on the same server, per server and worker
count, side by side in one run (issue 16): the whole table of docs/BENCHMARKS.md in one command.

    BRISK_DATABASE_URL=... BRISK_REDIS_URL=... python scripts/bench_server.py \\
        [--rounds 3] [--seconds 8] [--servers granian,uvicorn] [--workers 1,2] [--telemetry]

For each worker count: the bare app (`brisk.lab.constant:app`, a constant 1 KB JSON) and
`brisk serve --server S` on each server S, all started at once (one worker: pinned to core 1;
more: to cores 0-1), every cache warmed, then `wrk -t1 -c64` pinned to core 0 over each
(server, target) in turn, round after round, so machine noise hits all of them alike. The
targets: the bare app, `GET /api/articles/:slug`, `/api/profiles/:username`, `/api/tags`, all
anonymous, answered from L1 by the fast path. Access lines go to a file per server.

`--telemetry` adds, on the first server with one worker, brisk with telemetry off and with one
write(2) per access line (the code before batching) beside the default, on the article.

Prints every run and the load average, then the medians (min-max) and each target's ratio to
the bare app of the same server and worker count.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache import _wait
from benchkit import wrk  # the shared runner (wrk -t1 -c64 pinned to core 0)

BIN = os.path.dirname(sys.executable)
BARE = "bare ASGI, 1 KB"
TELEMETRY_VARIANTS = {
    "telemetry off": {"BRISK_TELEMETRY__ENABLED": "false"},
    "access line per write": {"BRISK_TELEMETRY__ACCESS_LOG_FLUSH_SECONDS": "0"},
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bare_command(server: str, port: int, workers: int) -> list[str]:
    if server == "uvicorn":
        return [f"{BIN}/uvicorn", "brisk.lab.constant:app", "--loop", "uvloop", "--http",
                "httptools", "--no-access-log", "--log-level", "warning",
                "--port", str(port), "--workers", str(workers)]  # fmt: skip
    return [f"{BIN}/granian", "--interface", "asgi", "--loop", "uvloop", "--http", "1",
            "--no-ws", "--log-level", "warning", "--port", str(port),
            "--workers", str(workers), "brisk.lab.constant:app"]  # fmt: skip


class Fleet:
    """Every process of the run, each with its log file; all stopped by their pid at the end."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.logs = Path(tempfile.mkdtemp(prefix="brisk-bench-server-"))
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, cmd: list[str], cores: str, extra: dict[str, str]) -> None:
        with (self.logs / f"{name.replace(' ', '_').replace('/', '')}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    ["taskset", "-c", cores, *cmd],
                    env={**self.env, **extra},
                    stdout=log,
                    stderr=log,
                )
            )

    def stop(self) -> None:
        for proc in self.processes:
            proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _targets(base: str, slug: str, username: str) -> dict[str, str]:
    return {
        "GET /api/articles/:slug": f"{base}/api/articles/{slug}",
        "GET /api/profiles/:username": f"{base}/api/profiles/{username}",
        "GET /api/tags": f"{base}/api/tags",
    }


def _plan(fleet: Fleet, opts: argparse.Namespace, workers: int) -> dict[str, str]:
    """Start this worker count's servers; (row name -> URL) in the order runs alternate."""
    cores = "1" if workers == 1 else "0,1"
    rows: dict[str, str] = {}
    brisks: dict[str, tuple[str, dict[str, str]]] = {}
    for server in opts.servers:
        port = _port()
        fleet.start(f"bare {server} {workers}", _bare_command(server, port, workers), cores, {})
        rows[f"{server} x{workers} | {BARE}"] = f"http://127.0.0.1:{port}/"
        variants = {"brisk": {}}
        if opts.telemetry and workers == 1 and server == opts.servers[0]:
            variants.update(TELEMETRY_VARIANTS)
        for variant, extra in variants.items():
            port = _port()
            cmd = [f"{BIN}/brisk", "serve", "--server", server, "--port", str(port),
                   "--workers", str(workers)]  # fmt: skip
            fleet.start(f"{variant} {server} {workers}", cmd, cores, extra)
            brisks[f"{server} x{workers} | {variant}"] = (f"http://127.0.0.1:{port}", extra)
    for url in rows.values():
        _wait(url)
    first = None
    for name, (base, _) in brisks.items():
        _wait(f"{base}/health/live")
        if first is None:
            first = httpx.get(f"{base}/api/articles?limit=1").json()["articles"][0]["slug"]
            author = httpx.get(f"{base}/api/articles/{first}").json()["article"]["author"]
            username = author["username"]
        for target, url in _targets(base, first, username).items():
            if name.endswith("| brisk") or target.startswith("GET /api/articles/"):
                rows[f"{name} | {target}"] = url
    for url in rows.values():  # fill L2, then every worker's L1
        for _ in range(20 * workers):
            assert httpx.get(url).status_code == 200, url
    return rows


def _report(runs: dict[str, list[tuple[float, float]]]) -> None:
    print("\nmedians (min-max), ratio to the bare app of the same server and workers")
    print("| server, workers | target | req/s | vs bare | p99 ms |\n|---|---|---|---|---|")
    for name, results in runs.items():
        group = name.split(" | ")[0]
        bare = statistics.median(r[0] for r in runs[f"{group} | {BARE}"])
        rps = statistics.median(r[0] for r in results)
        p99 = statistics.median(r[1] for r in results)
        spread = f"{min(r[0] for r in results):,.0f}-{max(r[0] for r in results):,.0f}"
        target = " | ".join(name.split(" | ")[1:])
        print(f"| {group} | {target} | {rps:,.0f} ({spread}) | {rps / bare:.0%} | {p99:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--servers", default="granian,uvicorn")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--telemetry", action="store_true")
    opts = parser.parse_args()
    opts.servers = opts.servers.split(",")
    env = {
        **os.environ,
        "BRISK_CACHE__NAMESPACE": f"bench-server-{os.getpid()}",
        "BRISK_HTTP__DRAIN_SECONDS": "0",
    }
    env.setdefault("BRISK_SECRET_KEY", "bench-secret-" + "x" * 40)
    runs: dict[str, list[tuple[float, float]]] = {}
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    for workers in (int(w) for w in opts.workers.split(",")):
        fleet = Fleet(env)
        try:
            rows = _plan(fleet, opts, workers)
            for round_no in range(opts.rounds):
                for name, url in rows.items():
                    rps, p99 = wrk(url, opts.seconds, {})
                    runs.setdefault(name, []).append((rps, p99))
                    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    print(f"round {round_no + 1} {name:64} {rps:9,.0f} req/s  p99 {p99:6.2f} ms"
                          f"  load {load}", flush=True)  # fmt: skip
        finally:
            fleet.stop()
        print(f"logs: {fleet.logs}")
    print(f"load average at the end: {os.getloadavg()}")
    _report(runs)


if __name__ == "__main__":
    main()
