"""Medians over several `brisk bench --json` reports of one scale, and M against S per kind.

    python scripts/bench_medians.py S.json S-2.json S-3.json -- M.json M-2.json M-3.json

Prints, per profile, the median of each run's closed-model P95 and throughput and of each
kind's P95 (open model), then M's median over S's median: the "P95 at M <= 1.5x P95 at S"
target of issue 12, for the mix and per kind.
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any

TARGET = 1.5


def _medians(paths: list[str]) -> dict[str, dict[str, float]]:
    """profile -> {"mix": closed P95, "rps": closed req/s, kind: that kind's P95}, medians."""
    values: dict[str, dict[str, list[float]]] = {}
    for path in paths:
        with open(path) as handle:
            report: dict[str, Any] = json.load(handle)
        for name, profile in report["profiles"].items():
            figures = values.setdefault(name, {})
            figures.setdefault("mix", []).append(profile["closed"]["p95_ms"])
            figures.setdefault("rps", []).append(profile["closed"]["throughput_rps"])
            for kind, k in profile.get("kinds", {}).items():
                figures.setdefault(kind, []).append(k["p95_ms"])
    return {
        name: {key: statistics.median(v) for key, v in figures.items()}
        for name, figures in values.items()
    }


def main(argv: list[str]) -> None:
    split = argv.index("--")
    small, large = _medians(argv[:split]), _medians(argv[split + 1 :])
    print(f"medians of {split} and {len(argv) - split - 1} runs; ratio = M / S (target <= 1.5)")
    for name in small.keys() & large.keys():
        print(f"\n{name}: req/s S {small[name]['rps']:,.1f}, M {large[name]['rps']:,.1f}")
        for key in sorted(small[name].keys() & large[name].keys() - {"rps"}):
            s, m = small[name][key], large[name][key]
            ratio = m / s if s else float("inf")
            verdict = "met" if ratio <= TARGET else "NOT MET"
            print(f"  {key:16} P95 S {s:9.1f} ms  M {m:9.1f} ms  x{ratio:5.2f}  {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
