"""A background task per process: event-loop lag, pool gauges and the breaker, sampled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from brisk.db import Database
from brisk.observability.metrics import Metrics

if TYPE_CHECKING:
    from brisk.observability.perf import PerfRecorder


class Sampler:
    def __init__(
        self,
        metrics: Metrics,
        db: Database,
        interval_seconds: float,
        breaker_open: Callable[[], bool] | None = None,
        recorder: PerfRecorder | None = None,
        in_flight: Callable[[], float] | None = None,
        l1_usage: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self.in_flight = in_flight
        self.l1_usage = l1_usage  # (bytes, entries)
        self.metrics = metrics
        self.db = db
        self.interval = interval_seconds
        self.breaker_open = breaker_open
        self.recorder = recorder
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="brisk-telemetry-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            # A timer runs late by as long as the callbacks before it held the loop: the delay
            # every request on this process saw at that moment.
            self.metrics.loop_lag.observe(max(0.0, loop.time() - due))
            self.sample()

    def sample(self) -> None:
        # Other workers' scrapes read this process's samples from its files: keep them fresh.
        self.metrics.flush()
        self.metrics.process.sample()
        if self.in_flight is not None:
            self.metrics.active_requests.set(self.in_flight())
        pool = self.db.pool
        size, idle, most = pool.get_size(), pool.get_idle_size(), pool.get_max_size()
        gauge = self.metrics.pool_connections
        gauge.labels("open").set(size)
        gauge.labels("idle").set(idle)
        gauge.labels("max").set(most)
        self.metrics.pool_waiters.set(self.db.waiting)
        if self.breaker_open is not None:
            self.metrics.breaker_open.set(1 if self.breaker_open() else 0)
        if self.l1_usage is not None:
            held, entries = self.l1_usage()
            self.metrics.cache_l1_bytes.set(held)
            self.metrics.cache_l1_entries.set(entries)
        if self.recorder is not None:
            self.recorder.pool(in_use=size - idle, size=size, most=most)
