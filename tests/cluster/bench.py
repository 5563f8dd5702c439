"""Throughput of 1 vs 2 brisk instances behind nginx on this machine (docs/SCALING.md).

    flock /work/brief/bench.lock .venv/bin/python -m tests.cluster.bench [rounds] [seconds]

Starts the cluster stack (tests/cluster/stack.py), loads a little data through the API, then
alternates nginx between one and two instances, `wrk -t1 -c64` through nginx each time, and
prints requests/s per run and the medians. Only ratios measured in one run mean anything here.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.cluster.stack import Stack

PATHS = {
    # Anonymous and cached: the L1 answers (the instance's own CPU is all it costs).
    "article": "/api/articles/{slug}",
    # Cached first page of the global list.
    "list": "/api/articles?limit=20",
    # Not cached (an author filter): PostgreSQL through PgBouncer, on the replica.
    "by-author": "/api/articles?author={author}&limit=20",
}


def seed(stack: Stack) -> dict[str, str]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        name = f"bench{secrets.token_hex(3)}"
        body = {"user": {"username": name, "email": f"{name}@example.com", "password": "pw-12345"}}
        token = client.post("/api/users", json=body).json()["user"]["token"]
        auth = {"Authorization": f"Token {token}"}
        slug = ""
        for i in range(60):
            article = {"article": {"title": f"bench {i}", "description": "d", "body": "b" * 500,
                                   "tagList": ["bench", f"t{i % 5}"]}}  # fmt: skip
            created = client.post("/api/articles", json=article, headers=auth)
            slug = created.json()["article"]["slug"]
    return {"slug": slug, "author": name}


def wrk(url: str, seconds: int) -> float:
    for _ in range(3):
        run = subprocess.run(
            ["wrk", "-t1", "-c64", f"-d{seconds}s", url],
            capture_output=True, text=True, check=False, timeout=seconds + 30,
        )  # fmt: skip
        if run.returncode == 0:
            break
        print(f"  wrk failed ({run.returncode}): {run.stdout[-300:]} {run.stderr[-300:]}")
        time.sleep(2)
    out = run.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors is not None:
        print(f"  {errors.group(1)} non-2xx responses", flush=True)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    stack = Stack(Path(tempfile.mkdtemp(prefix="brisk-bench-")))
    try:
        stack.start()
        values = seed(stack)
        two = stack.ports.brisk[:2]
        results: dict[tuple[str, int], list[float]] = {}
        for r in range(rounds):
            for count in (1, 2) if r % 2 == 0 else (2, 1):
                stack.route_to(two[:count])
                for name, path in PATHS.items():
                    url = stack.url + path.format(**values)
                    wrk(url, 2)  # warm this configuration (L1s, pools, plans)
                    rps = wrk(url, seconds)
                    results.setdefault((name, count), []).append(rps)
                    print(f"round {r + 1} {name:10} {count} instance(s): {rps:8.0f} req/s",
                          flush=True)  # fmt: skip
        print(f"load average: {os.getloadavg()}")
        for name in PATHS:
            one = statistics.median(results[(name, 1)])
            both = statistics.median(results[(name, 2)])
            runs1 = " / ".join(f"{v:.0f}" for v in results[(name, 1)])
            runs2 = " / ".join(f"{v:.0f}" for v in results[(name, 2)])
            print(f"{name:10} 1: {one:7.0f} ({runs1})  2: {both:7.0f} ({runs2})  "
                  f"ratio {both / one:.2f}")  # fmt: skip
    finally:
        stack.stop()
        shutil.rmtree(stack.root, ignore_errors=True)


if __name__ == "__main__":
    main()
