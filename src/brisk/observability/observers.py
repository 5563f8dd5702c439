"""What the database and the cache report, turned into metrics, Server-Timing and the slow log.

Registered on `Database.observers` / `Database.acquire_observers` and on the cache's observers
(TEAM contract: `(layer, family, result, seconds)`). They run after every query and cache call,
on the event loop: each does a dict lookup, one observation and a contextvar read.
"""

from __future__ import annotations

import bisect
import logging

from brisk.observability.context import add_query, current_timing
from brisk.observability.metrics import BufferedCounter, BufferedHistogram, Metrics
from brisk.observability.perf import PerfRecorder

slow_log = logging.getLogger("brisk.slow_query")


class QueryObserver:
    """Query duration by name; the request's db time; a log line past the threshold."""

    def __init__(self, metrics: Metrics, slow_seconds: float) -> None:
        self.metrics = metrics
        self.slow_seconds = slow_seconds
        self._children: dict[str, BufferedHistogram] = {}

    def __call__(self, name: str, seconds: float) -> None:
        child = self._children.get(name)
        if child is None:
            child = self._children[name] = self.metrics.histogram(self.metrics.query_duration, name)
        child.observe(seconds)
        add_query(seconds)
        if seconds >= self.slow_seconds:
            self.metrics.slow_queries.labels(name).inc()
            # The name and the time only: parameter values may be personal data.
            slow_log.warning(
                "slow query",
                extra={"query": name, "duration_ms": round(seconds * 1000, 3)},
            )


class CacheObserver:
    """Cache results by layer, family and outcome; the request's cache time."""

    def __init__(self, metrics: Metrics, recorder: PerfRecorder | None = None) -> None:
        self.metrics = metrics
        self.recorder = recorder
        # Per (layer, family, result): its counter and its layer's duration histogram, found
        # with one lookup.
        self._children: dict[tuple[str, str, str], tuple[BufferedCounter, BufferedHistogram]] = {}
        self._durations: dict[str, BufferedHistogram] = {}

    def __call__(self, layer: str, family: str, result: str, seconds: float) -> None:
        # Inline, no nested calls: an L1 hit on the fast path runs this once or twice per
        # request, and each Python call in it cost ~1,000 instructions (callgrind).
        key = (layer, family, result)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._new(key)
        counter, duration = children
        counter.count += 1
        # L1 reports 0.0 (a dict read): the first bucket, without a bisect.
        duration.counts[bisect.bisect_left(duration.bounds, seconds) if seconds else 0] += 1
        duration.total += seconds
        timing = current_timing.get()
        if timing is not None:
            timing.cache_seconds += seconds
            timing.cache_calls += 1
            if result == "hit":
                timing.cache_hits += 1
            elif layer == "l2":
                timing.cache_misses += 1
        if self.recorder is not None:
            self.recorder.cache(result)

    def _new(self, key: tuple[str, str, str]) -> tuple[BufferedCounter, BufferedHistogram]:
        layer = key[0]
        duration = self._durations.get(layer)
        if duration is None:
            duration = self._durations[layer] = self.metrics.histogram(
                self.metrics.cache_duration, layer
            )
        return self.metrics.counter(self.metrics.cache_requests, *key), duration
