"""Cached reads vs a bare ASGI app on the same server and core, side by side in one run.

    BRISK_DATABASE_URL=... BRISK_REDIS_URL=... python scripts/bench_cache.py [--rounds 3]

Starts `uvicorn brisk.lab.constant:app` and `brisk serve` (one worker each, both pinned to
core 1), warms brisk's cache, then alternates `wrk -t1 -c64` runs (pinned to core 0) over the
bare app and each cached endpoint, round after round, so machine noise hits all of them alike.
Prints req/s and p99 per run, the medians, each endpoint's ratio to the bare app, and the
PostgreSQL transactions per request during each run (≈ the miss ratio: a hit costs none).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

import httpx
import jwt
from benchkit import rounds

BARE_PORT, BRISK_PORT = 8401, 8402


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["taskset", "-c", "1", *cmd], env=env, stdout=subprocess.DEVNULL)


def _wait(url: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    opts = parser.parse_args()
    dsn = os.environ["BRISK_DATABASE_URL"]
    env = {**os.environ, "BRISK_CACHE__NAMESPACE": f"bench{os.getpid()}"}
    env.setdefault("BRISK_SECRET_KEY", "bench-secret-" + "x" * 40)
    bin_dir = os.path.dirname(sys.executable)
    servers = [
        _start(
            [
                f"{bin_dir}/uvicorn",
                "brisk.lab.constant:app",
                "--port",
                str(BARE_PORT),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env,
        ),
        _start([f"{bin_dir}/brisk", "serve", "--port", str(BRISK_PORT)], env),
    ]
    try:
        base = f"http://127.0.0.1:{BRISK_PORT}"
        _wait(f"http://127.0.0.1:{BARE_PORT}/")
        _wait(f"{base}/health/live")
        slug = httpx.get(f"{base}/api/articles?limit=1").json()["articles"][0]["slug"]
        username = httpx.get(f"{base}/api/articles/{slug}").json()["article"]["author"]["username"]
        token = _token_for(dsn, env["BRISK_SECRET_KEY"])
        auth = {"Authorization": f"Token {token}"}
        targets = {
            "bare ASGI, 1 KB": (f"http://127.0.0.1:{BARE_PORT}/", {}),
            "GET /api/articles/:slug": (f"{base}/api/articles/{slug}", {}),
            "GET /api/profiles/:username": (f"{base}/api/profiles/{username}", {}),
            "GET /api/tags": (f"{base}/api/tags", {}),
            "GET /api/dashboard": (f"{base}/api/dashboard", auth),
        }
        for url, headers in targets.values():  # warm: fill L2 and L1
            for _ in range(3):
                assert httpx.get(url, headers=headers).status_code == 200, url
        runs = rounds(targets, rounds=opts.rounds, seconds=opts.seconds, dsn=dsn)
        bare = statistics.median(r[0] for r in runs["bare ASGI, 1 KB"])
        print("\nmedians")
        for name, results in runs.items():
            rps = statistics.median(r[0] for r in results)
            p99 = statistics.median(r[1] for r in results)
            tx = statistics.median(r[2] for r in results)
            spread = f"{min(r[0] for r in results):.0f}-{max(r[0] for r in results):.0f}"
            print(
                f"{name:30} {rps:9.0f} req/s ({spread})  {rps / bare:6.1%} of bare  "
                f"p99 {p99:7.2f} ms  db tx/req {tx:.4f}"
            )
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)


def _token_for(dsn: str, secret: str) -> str:
    """A token for the user with the most notifications (the fullest dashboard)."""
    out = subprocess.run(
        [
            "psql",
            dsn,
            "-Atc",
            "SELECT recipient_id FROM notifications GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    now = int(time.time())
    return jwt.encode({"sub": out, "iat": now, "exp": now + 3600}, secret, algorithm="HS256")


if __name__ == "__main__":
    main()
