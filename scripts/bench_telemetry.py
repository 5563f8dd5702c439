"""What the telemetry costs on cached reads: the same app with it on, on without the access
log, and off, side by side in one run.

    BRISK_DATABASE_URL=... BRISK_REDIS_URL=... python scripts/bench_telemetry.py [--rounds 5]

Starts three `brisk serve` processes (one worker each, all pinned to core 1; only the one under
load runs), warms their caches, then alternates `wrk -t1 -c64` runs (pinned to core 0) over the
variants, endpoint by endpoint, round after round, so machine noise hits all of them alike.
Prints req/s and p99 per run and the medians with each variant's change against "off".
The access log goes to a file per server, as it would in production (not /dev/null).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache import _wait
from benchkit import wrk as _wrk  # the shared wrk runner

VARIANTS = {
    "off": {"BRISK_TELEMETRY__ENABLED": "false"},
    "on": {},
    "on, no access log": {"BRISK_TELEMETRY__ACCESS_LOG": "false"},
}
FIRST_PORT = 8611


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    opts = parser.parse_args()
    env = {**os.environ, "BRISK_CACHE__NAMESPACE": f"bench-telemetry-{os.getpid()}"}
    env.setdefault("BRISK_SECRET_KEY", "bench-secret-" + "x" * 40)
    brisk = f"{os.path.dirname(sys.executable)}/brisk"
    logs = Path(tempfile.mkdtemp(prefix="brisk-bench-telemetry-"))
    servers, bases = [], {}
    for offset, (name, extra) in enumerate(VARIANTS.items()):
        port = FIRST_PORT + offset
        with (logs / f"{port}.log").open("wb") as log:
            servers.append(
                subprocess.Popen(
                    ["taskset", "-c", "1", brisk, "serve", "--port", str(port)],
                    env={**env, **extra},
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
        bases[name] = f"http://127.0.0.1:{port}"
    try:
        for base in bases.values():
            _wait(f"{base}/health/live")
        first = bases["off"]
        slug = httpx.get(f"{first}/api/articles?limit=1").json()["articles"][0]["slug"]
        paths = {
            "GET /api/articles/:slug (ASGI fast path)": f"/api/articles/{slug}",
            "GET /api/articles?limit=20 (cached, routed)": "/api/articles?limit=20",
        }
        for base in bases.values():  # warm: fill L2 and every server's L1
            for path in paths.values():
                for _ in range(3):
                    assert httpx.get(base + path).status_code == 200, base + path
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for round_no in range(opts.rounds):
            for endpoint, path in paths.items():
                for variant, base in bases.items():
                    rps, p99 = _wrk(base + path, opts.seconds, {})
                    runs.setdefault((endpoint, variant), []).append((rps, p99))
                    load = Path("/proc/loadavg").read_text().split()[:3]
                    print(
                        f"round {round_no + 1} {endpoint:44} {variant:18} {rps:8.0f} req/s  "
                        f"p99 {p99:6.2f} ms  load {' '.join(load)}",
                        flush=True,
                    )
        print("\nmedians")
        for endpoint in paths:
            off = statistics.median(r[0] for r in runs[(endpoint, "off")])
            for variant in VARIANTS:
                results = runs[(endpoint, variant)]
                rps = statistics.median(r[0] for r in results)
                p99 = statistics.median(r[1] for r in results)
                spread = f"{min(r[0] for r in results):.0f}-{max(r[0] for r in results):.0f}"
                print(
                    f"{endpoint:44} {variant:18} {rps:8.0f} req/s ({spread})  "
                    f"{rps / off - 1:+6.1%} vs off  p99 {p99:6.2f} ms"
                )
        print(f"\nserver logs (the access lines): {logs}")
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
