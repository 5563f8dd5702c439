"""The mix broken down per kind of request, and over time, from the open-model generator's
per-request records (brisk.lab.openloop): which kind is slow, and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# A record: [kind, latency s, status, answered at (s from start), DB queries, cache hits,
# cache misses]; the last three are -1 when the service sent no Server-Timing.
Record = Sequence[Any]


def quantile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _per_request(records: list[Record], column: int) -> float | None:
    values = [r[column] for r in records if r[column] >= 0]
    return sum(values) / len(values) if values else None


def _hit_ratio(records: list[Record]) -> float | None:
    timed = [r for r in records if r[5] >= 0]
    hits, misses = sum(r[5] for r in timed), sum(r[6] for r in timed)
    return hits / (hits + misses) if hits + misses else None


def _figures(records: list[Record], total: int, seconds: float) -> dict[str, Any]:
    latencies = sorted(1e3 * r[1] for r in records)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    return {
        "requests": len(records),
        "share": len(records) / total if total else 0.0,
        "throughput_rps": len(records) / seconds if seconds else 0.0,
        "avg_ms": sum(latencies) / len(latencies) if latencies else 0.0,
        "p50_ms": quantile(latencies, 0.5),
        "p95_ms": quantile(latencies, 0.95),
        "p99_ms": quantile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else 0.0,
        "db_queries_per_request": _per_request(records, 4),
        "cache_hit_ratio": _hit_ratio(records),
        "statuses": dict(sorted(statuses.items())),
    }


def by_kind(records: list[Record], seconds: float) -> dict[str, dict[str, Any]]:
    """Per kind (the names of brisk.lab.workload.MIX): share of the answers, rate, latency
    quantiles in ms, DB queries and cache hit ratio per request, answers by status."""
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(str(record[0]), []).append(record)
    return {kind: _figures(rows, len(records), seconds) for kind, rows in sorted(grouped.items())}


def statuses(records: list[Record]) -> dict[str, int]:
    """Answers by exact HTTP status, over the whole run."""
    counted: dict[str, int] = {}
    for record in records:
        counted[str(record[2])] = counted.get(str(record[2]), 0) + 1
    return dict(sorted(counted.items()))


def timeline(records: list[Record], seconds: float, *, step: float = 1.0) -> list[dict[str, Any]]:
    """Per `step` seconds of the run: answers per second, their P99 and how many were errors
    (status >= 400), by when they were answered. Only whole steps: the run's last moments,
    when the stragglers come in after the last request left, would read as a collapse."""
    buckets: list[list[Record]] = [[] for _ in range(max(1, int(seconds / step)))]
    for record in records:
        index = int(record[3] / step)
        if index < len(buckets):
            buckets[index].append(record)
    return [
        {
            "t": round(i * step, 3),
            "throughput_rps": len(rows) / step,
            "p99_ms": quantile(sorted(1e3 * r[1] for r in rows), 0.99),
            "errors": sum(1 for r in rows if r[2] >= 400),
        }
        for i, rows in enumerate(buckets)
    ]
