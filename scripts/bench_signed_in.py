"""Each cached read signed in against the same read anonymous, side by side in one run.

    BRISK_DATABASE_URL=postgresql://.../brisk_lab_s_42 BRISK_REDIS_URL=redis://... \\
        python scripts/bench_signed_in.py [--rounds 3] [--seconds 8]

Serves a database seeded by `brisk seed` with one `brisk serve` worker pinned to core 1, signs
in as a seeded author (the lab's password), warms the cache, then alternates `wrk -t1 -c64`
(pinned to core 0) over each read anonymous and signed in, round after round, so machine noise
hits both alike. Prints req/s and p99 per run, the medians and each signed-in/anonymous ratio
(issue 17's target: >= 50%), and the database transactions per request (a hit costs none).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

import httpx
from benchkit import rounds

from brisk.lab.seed import SEED_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reads(base: str) -> dict[str, str]:
    listing = httpx.get(f"{base}/api/articles?limit=20").json()["articles"]
    slug = urllib.parse.quote(listing[0]["slug"])
    author = urllib.parse.quote(listing[0]["author"]["username"])
    tag = urllib.parse.quote(httpx.get(f"{base}/api/tags").json()["tags"][0])
    return {
        "article_list": f"{base}/api/articles?limit=20",
        "articles_by_tag": f"{base}/api/articles?tag={tag}&limit=20",
        "article": f"{base}/api/articles/{slug}",
        "profile": f"{base}/api/profiles/{author}",
        "comments": f"{base}/api/articles/{slug}/comments",
        "tags": f"{base}/api/tags",
        # Signed in only: no anonymous counterpart.
        "feed": f"{base}/api/articles/feed?limit=20",
        "dashboard": f"{base}/api/dashboard",
    }


def _login(base: str) -> str:
    author = httpx.get(f"{base}/api/articles?limit=1").json()["articles"][0]["author"]["username"]
    body = {"user": {"email": f"{author}@example.com", "password": SEED_PASSWORD}}
    response = httpx.post(f"{base}/api/users/login", json=body, timeout=30)
    response.raise_for_status()
    return str(response.json()["user"]["token"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    opts = parser.parse_args()
    dsn = os.environ["BRISK_DATABASE_URL"]
    env = {**os.environ, "BRISK_CACHE__NAMESPACE": f"signedin{os.getpid()}"}
    env.setdefault("BRISK_SECRET_KEY", "bench-secret-" + "x" * 40)
    port = _free_port()
    bin_dir = os.path.dirname(sys.executable)
    cmd = ["taskset", "-c", "1", f"{bin_dir}/brisk", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        auth = {"Authorization": f"Token {_login(base)}"}
        reads = _reads(base)
        targets: dict[str, tuple[str, dict[str, str]]] = {}
        for kind, url in reads.items():
            if kind not in ("feed", "dashboard"):
                targets[f"{kind} anonymous"] = (url, {})
            targets[f"{kind} signed in"] = (url, auth)
        for url, headers in targets.values():  # warm: fill L2, L1 and the viewer's sets
            for _ in range(3):
                assert httpx.get(url, headers=headers, timeout=30).status_code == 200, url
        runs = rounds(targets, rounds=opts.rounds, seconds=opts.seconds, dsn=dsn)
        medians = {n: statistics.median(r[0] for r in results) for n, results in runs.items()}
        print("\nmedians (req/s; signed in / anonymous)")
        for kind in reads:
            signed = medians[f"{kind} signed in"]
            anonymous = medians.get(f"{kind} anonymous")
            p99 = statistics.median(r[1] for r in runs[f"{kind} signed in"])
            ratio = (
                ""
                if anonymous is None
                else f"anonymous {anonymous:9.0f}  {signed / anonymous:6.1%}"
            )
            print(f"{kind:16} signed in {signed:9.0f} (p99 {p99:6.2f} ms)  {ratio}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
