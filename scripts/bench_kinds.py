"""The app's CPU per request of each kind of the lab's mix, as shipped and with the cache off,
side by side in one run: where the mix's time goes (issue 17).

    BRISK_DATABASE_URL=postgresql://postgres@127.0.0.1/postgres BRISK_REDIS_URL=redis://... \\
        python scripts/bench_kinds.py [--scale S] [--rounds 3] [--seconds 6] [--json FILE]

On a copy of the lab's data set (`brisk bench` seeds it once), one server as the lab runs it
(granian, one worker pinned to core 1; wrk on core 0) serves the lab's mix, then each kind
alone, with the cache (as shipped) and without (`BRISK_CACHE__ENABLED=false`), round after
round so machine noise hits both alike. For each: req/s, P95 and the worker's CPU per
request (from /proc, which counts no waiting). The mix's CPU per request is about the
share-weighted sum of the kinds' (a kind alone runs with hotter caches than in the mix, so the
sum is a lower bound); the kind whose share x CPU is largest is where the mix's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from brisk.lab import databases
from brisk.lab.bench import BenchPlan, seeded
from brisk.lab.profiles import BRISK_APP
from brisk.lab.runner import Server, cpus, drive
from brisk.lab.workload import Request, build_requests, only, sample_service, write_requests

VARIANTS = {"shipped": {}, "cache off": {"BRISK_CACHE__ENABLED": "false"}}


def _request_files(requests: list[Request], folder: Path) -> dict[str, Path]:
    """The mix's requests file, and one a kind holding only that kind's requests."""
    files = {"mix": folder / "mix.tsv"}
    write_requests(requests, files["mix"])
    for kind in sorted({r.kind for r in requests}):
        files[kind] = folder / f"{kind}.tsv"
        write_requests(only(requests, kind), files[kind])
    return files


def _measure(server: Server, requests_file: Path, seconds: float) -> dict[str, float]:
    before = server.cpu_seconds()
    run = drive(server.url, requests_file, seconds, connections=16, cpu=cpus()[0])
    used = server.cpu_seconds() - before
    return {
        "rps": run.throughput_rps,
        "p95_ms": run.p95_ms,
        "cpu_ms": 1000 * used / run.requests if run.requests else 0.0,
        "errors": run.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="S")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    admin_url = os.environ["BRISK_DATABASE_URL"]

    source = seeded(
        BenchPlan(scale=args.scale), admin_url, lambda text: print(text, file=sys.stderr)
    )
    copy = asyncio.run(databases.clone(admin_url, source, f"{source}_kinds", indexes=True))
    env = {
        "BRISK_SECRET_KEY": secrets.token_urlsafe(48),
        "BRISK_CACHE__NAMESPACE": f"kinds{os.getpid()}",
        "BRISK_DATABASE_URL": copy,
    }
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            with Server(BRISK_APP, env) as server:
                requests = build_requests(sample_service(server.url), seed=42)
            shares = Counter(r.kind for r in requests)
            files = _request_files(requests, Path(tmp))
            mix_file = files["mix"]
            for round_no in range(args.rounds):
                order = list(VARIANTS) if round_no % 2 == 0 else list(reversed(VARIANTS))
                for variant in order:
                    with Server(BRISK_APP, env | VARIANTS[variant], cpu=cpus()[1]) as server:
                        drive(server.url, mix_file, 3, connections=16, cpu=cpus()[0])  # warm
                        for kind, path in files.items():
                            figures = _measure(server, path, args.seconds)
                            runs.setdefault((variant, kind), []).append(figures)
                            print(
                                f"round {round_no + 1} {variant:9} {kind:18} "
                                f"{figures['rps']:8.0f} req/s  P95 {figures['p95_ms']:7.2f} ms"
                                f"  cpu {figures['cpu_ms']:.3f} ms/req",
                                flush=True,
                            )
    finally:
        asyncio.run(databases.drop(admin_url, f"{source}_kinds"))
    _report(runs, shares, len(requests), args.json)


def _report(
    runs: dict[tuple[str, str], list[dict[str, float]]],
    shares: Counter[str],
    total: int,
    json_path: Path | None,
) -> None:
    medians = {
        key: {name: statistics.median(r[name] for r in values) for name in values[0]}
        for key, values in runs.items()
    }
    kinds = sorted({kind for _, kind in medians}, key=lambda k: (k != "mix", -shares[k]))
    print(
        f"\n{'kind':18} {'share':>6}  {'shipped cpu':>11} {'off cpu':>8}  "
        f"{'share x shipped':>15}  {'req/s shipped':>13} {'off':>7}"
    )
    weighted = {"shipped": 0.0, "cache off": 0.0}
    for kind in kinds:
        share = 1.0 if kind == "mix" else shares[kind] / total
        on, off = medians[("shipped", kind)], medians[("cache off", kind)]
        if kind != "mix":
            weighted["shipped"] += share * on["cpu_ms"]
            weighted["cache off"] += share * off["cpu_ms"]
        print(
            f"{kind:18} {100 * share:5.1f}%  {on['cpu_ms']:8.3f} ms {off['cpu_ms']:5.3f} ms  "
            f"{share * on['cpu_ms']:12.3f} ms  {on['rps']:13.0f} {off['rps']:7.0f}"
        )
    print(
        f"{'sum over kinds':18} {'':6}  {weighted['shipped']:8.3f} ms "
        f"{weighted['cache off']:5.3f} ms   (the mix measured: see its line)"
    )
    if json_path is not None:
        rows = {f"{variant}/{kind}": values for (variant, kind), values in medians.items()}
        json_path.write_text(json.dumps({"medians": rows, "shares": dict(shares)}, indent=2))


if __name__ == "__main__":
    main()
