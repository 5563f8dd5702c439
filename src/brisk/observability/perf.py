"""The numbers behind /_perf: per-route latency histograms and counts over the last minutes.

In-process and per worker (each worker's page shows its own share; Prometheus and the Grafana
dashboard show the fleet). Only built when the page is enabled, so it costs nothing otherwise.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Geometric bucket bounds from 50 us to ~100 s (15% apart): a percentile read from them is
# within 15% of the true value, at the cost of one bisect per request.
BOUNDS = [0.00005 * 1.15**i for i in range(105)]
QUANTILES = (0.5, 0.95, 0.99)
SKIPPED_PREFIXES = ("/_perf", "/metrics")


def _quantiles(counts: list[int]) -> list[float | None]:
    total = sum(counts)
    if not total:
        return [None] * len(QUANTILES)
    out: list[float | None] = []
    for q in QUANTILES:
        rank, seen = q * total, 0
        for i, n in enumerate(counts):
            seen += n
            if seen >= rank:
                out.append(BOUNDS[min(i, len(BOUNDS) - 1)])
                break
    return out


def _merge(into: list[int], counts: list[int]) -> None:
    for i, n in enumerate(counts):
        if n:
            into[i] += n


@dataclass
class Slot:
    """One step of time: what every route did in it."""

    start: float
    routes: dict[str, list[int]] = field(default_factory=dict)
    cache_hits: int = 0
    cache_lookups: int = 0
    pool_in_use: int = 0
    pool_size: int = 0
    pool_max: int = 0


class PerfRecorder:
    def __init__(
        self,
        window_seconds: int = 300,
        step_seconds: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.step = step_seconds
        self.clock = clock
        self.slots: deque[Slot] = deque(maxlen=max(2, window_seconds // step_seconds))
        self._current = self._slot_for(clock())

    def _slot_for(self, now: float) -> Slot:
        slot = Slot(start=now - now % self.step)
        self.slots.append(slot)
        return slot

    def _now_slot(self) -> Slot:
        now = self.clock()
        if now - self._current.start >= self.step:
            self._current = self._slot_for(now)
        return self._current

    def record(self, route: str, seconds: float) -> None:
        if route.startswith(SKIPPED_PREFIXES):
            return
        slot = self._now_slot()
        counts = slot.routes.get(route)
        if counts is None:
            counts = slot.routes[route] = [0] * (len(BOUNDS) + 1)
        counts[bisect.bisect_left(BOUNDS, seconds)] += 1

    def cache(self, result: str) -> None:
        slot = self._now_slot()
        slot.cache_lookups += 1
        slot.cache_hits += result == "hit"

    def pool(self, *, in_use: int, size: int, most: int) -> None:
        slot = self._now_slot()
        slot.pool_in_use = max(slot.pool_in_use, in_use)
        slot.pool_size, slot.pool_max = size, most

    def snapshot(self) -> dict[str, Any]:
        """The page's data: a point per step, and each route over the whole window."""
        self._now_slot()
        series: list[dict[str, Any]] = []
        by_route: dict[str, list[int]] = {}
        for slot in self.slots:
            merged = [0] * (len(BOUNDS) + 1)
            for route, counts in slot.routes.items():
                _merge(merged, counts)
                _merge(by_route.setdefault(route, [0] * (len(BOUNDS) + 1)), counts)
            p50, p95, p99 = _quantiles(merged)
            series.append(
                {
                    "t": slot.start,
                    "rps": sum(merged) / self.step,
                    "p50": p50,
                    "p95": p95,
                    "p99": p99,
                    "cache_hit_ratio": (
                        slot.cache_hits / slot.cache_lookups if slot.cache_lookups else None
                    ),
                    "pool_in_use": slot.pool_in_use,
                    "pool_size": slot.pool_size,
                    "pool_max": slot.pool_max,
                }
            )
        span = max(self.step, self.clock() - self.slots[0].start)
        routes = [
            dict(zip(("route", "count", "rps", "p50", "p95", "p99"), row, strict=True))
            for row in sorted(
                ((r, sum(c), sum(c) / span, *_quantiles(c)) for r, c in by_route.items()),
                key=lambda row: -int(row[1] or 0),
            )
        ]
        return {
            "step_seconds": self.step,
            "window_seconds": span,
            "series": series,
            "routes": routes,
        }
