"""Process and runtime metrics (CPU, memory, open files, GC) that work with several workers.

prometheus_client's own process and GC collectors read only the process that answers the
scrape and are left out of multiprocess mode entirely. These are sampled by every worker into
its own files instead (brisk.observability.sampler), so any worker's /metrics reports the
host's brisk: CPU seconds and collections summed over workers, memory and files summed over the
live ones. The names are the usual ones (`process_*`, `python_gc_*`), so dashboards need no
change; on one process they read exactly as the stock collectors would.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# A young collection takes well under a millisecond; a full one, over a large heap, tens to
# hundreds: the requests waiting behind it see the whole pause.
GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _resident_bytes() -> int:
    try:  # Linux: the current resident set (ru_maxrss is the peak)
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE_BYTES
    except OSError:  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - not Linux
        return 0


class ProcessMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.cpu = Counter(
            "process_cpu_seconds", "User and system CPU time spent, in seconds.", registry=r
        )
        self.resident = Gauge(
            "process_resident_memory_bytes",
            "Resident memory size, in bytes.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.open_fds = Gauge(
            "process_open_fds", "Open file descriptors.", registry=r, multiprocess_mode="livesum"
        )
        self.gc_collections = Counter(
            "python_gc_collections",
            "Garbage collections, by generation.",
            ["generation"],
            registry=r,
        )
        self.gc_collected = Counter(
            "python_gc_objects_collected",
            "Objects collected during GC, by generation.",
            ["generation"],
            registry=r,
        )
        self.gc_pause = Histogram(
            "brisk_gc_pause_seconds",
            "Garbage collection pauses (the whole process stops), by generation.",
            ["generation"],
            buckets=GC_PAUSE_BUCKETS,
            registry=r,
        )
        self._cpu_seen = 0.0
        self._gc_seen = [(0, 0)] * len(gc.get_stats())
        self._gc_started = 0.0
        # (generation, seconds) since the last sample. gc.callbacks run wherever a collection
        # starts, possibly inside prometheus_client's own (non-reentrant) locks: observing
        # there could deadlock, so the callback only appends and sample() observes.
        self._pauses: list[tuple[int, float]] = []

    def watch_gc(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def unwatch_gc(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._pauses.append((info["generation"], time.perf_counter() - self._gc_started))

    def sample(self) -> None:
        """Add what changed since the last sample (counters only ever go up per process)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        self.cpu.inc(max(0.0, cpu - self._cpu_seen))
        self._cpu_seen = cpu
        self.resident.set(_resident_bytes())
        self.open_fds.set(_open_fds())
        for generation, stats in enumerate(gc.get_stats()):
            runs, collected = stats["collections"], stats["collected"]
            seen_runs, seen_collected = self._gc_seen[generation]
            label = str(generation)
            self.gc_collections.labels(label).inc(max(0, runs - seen_runs))
            self.gc_collected.labels(label).inc(max(0, collected - seen_collected))
            self._gc_seen[generation] = (runs, collected)
        pauses, self._pauses = self._pauses, []
        for generation, seconds in pauses:
            self.gc_pause.labels(str(generation)).observe(seconds)
