"""What the side-by-side benchmark scripts share: one pinned wrk run, and PostgreSQL's commit
count (a cached hit commits nothing, so commits per request is about the miss ratio)."""

from __future__ import annotations

import re
import subprocess

# name -> (url, headers)
Targets = dict[str, tuple[str, dict[str, str]]]


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


def rounds(
    targets: Targets, *, rounds: int, seconds: int, dsn: str
) -> dict[str, list[tuple[float, float, float]]]:
    """Every target, round after round (so machine noise hits all alike): per target, one
    (req/s, p99 ms, database commits per request) a round, each printed as it is measured."""
    width = max(len(name) for name in targets)
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
    for round_no in range(rounds):
        for name, (url, headers) in targets.items():
            before = commits(dsn)
            rps, p99 = wrk(url, seconds, headers)
            per_request = (commits(dsn) - before) / (rps * seconds)
            runs[name].append((rps, p99, per_request))
            print(
                f"round {round_no + 1} {name:{width}} {rps:9.0f} req/s  p99 {p99:7.2f} ms  "
                f"db tx/req {per_request:.4f}",
                flush=True,
            )
    return runs
