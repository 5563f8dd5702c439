"""What the side-by-side benchmark scripts share: one pinned wrk run, and PostgreSQL's commit
count (a cached hit commits nothing, so commits per request is about the miss ratio)."""

from __future__ import annotations

import re
import subprocess


def wrk(url: str, seconds: int, headers: dict[str, str]) -> tuple[float, float]:
    """(req/s, p99 ms) of `wrk -t1 -c64` pinned to core 0; exits on any error response."""
    args = ["taskset", "-c", "0", "wrk", "-t1", "-c64", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return rps, float(p99.group(1)) * scale


def commits(dsn: str) -> int:
    query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    out = subprocess.run(["psql", dsn, "-Atc", query], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())
