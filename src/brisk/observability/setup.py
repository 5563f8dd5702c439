"""Telemetry for one app: built in create_app, started and stopped by its lifespan."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fastapi import FastAPI

from brisk.observability.endpoints import build_router
from brisk.observability.logs import AccessLog
from brisk.observability.metrics import Metrics, mark_process_dead, multiprocess_dir
from brisk.observability.metrics_listener import MetricsListener
from brisk.observability.middleware import Answers, FastAnswers, InFlight, TelemetryMiddleware
from brisk.observability.observers import CacheObserver, QueryObserver
from brisk.observability.perf import PerfRecorder
from brisk.observability.sampler import Sampler
from brisk.observability.tracing import Tracing, tracing_from_env
from brisk.settings import Settings, TelemetrySettings

if TYPE_CHECKING:
    from brisk.cache import Cache
    from brisk.db import Database


class Telemetry:
    def __init__(
        self,
        settings: TelemetrySettings,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else Metrics()
        self.tracing = tracing
        self.recorder = PerfRecorder(settings.perf_window_seconds) if settings.perf_page else None
        self.access_log = None
        if settings.enabled and settings.access_log:
            self.access_log = access_log
            if access_log is None:
                self.access_log = AccessLog(
                    flush_seconds=settings.access_log_flush_seconds, traced=tracing is not None
                )
        self._sampler: Sampler | None = None
        self._listener: MetricsListener | None = None
        self.in_flight = InFlight()
        self.answers = Answers(
            self.metrics,
            access_log=self.access_log,
            recorder=self.recorder,
            quiet_routes=frozenset(settings.access_log_exclude),
            sample_every=settings.access_log_sample_every,
            slow_seconds=settings.slow_query_seconds,
        )
        if multiprocess_dir() is None:
            # Read at scrape time: exact, and nothing on the request path but an int.
            self.metrics.active_requests.set_function(self.in_flight)

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        enabled = settings.telemetry.enabled
        return cls(settings.telemetry, tracing=tracing_from_env() if enabled else None)

    def install(self, app: FastAPI) -> None:
        """Routes (/metrics, /_perf when enabled) and the middleware; call after every other
        middleware so this one times all of them (the fast path, when it counts its own
        answers, is added after it: `fast_answers`, ADR 0028)."""
        app.include_router(build_router(self, metrics=not self.settings.metrics_address))
        if self.settings.enabled:
            app.add_middleware(
                TelemetryMiddleware,
                metrics=self.metrics,
                answers=self.answers,
                tracing=self.tracing,
                routes=lambda: app.router.routes,
                in_flight=self.in_flight,
                server_timing_detail=self.settings.server_timing,
            )

    def fast_answers(self) -> FastAnswers | None:
        """Telemetry for the cache's fast path as the outermost layer (ADR 0028), or None when
        its answers need the middleware: telemetry off (nothing to add), Server-Timing's db and
        cache parts (counted through the middleware's per-request context) or tracing spans."""
        if not self.settings.enabled or self.tracing is not None:
            return None
        if self.settings.server_timing != "total":
            return None
        return FastAnswers(self.answers, self.in_flight)

    async def start(self, db: Database, cache: Cache | None) -> None:
        """Register the observers and start sampling (lifespan, after the pools are open)."""
        if self.settings.metrics_address:
            self._listener = MetricsListener(self.settings.metrics_address, self.metrics.render)
            await self._listener.start()
        if not self.settings.enabled:
            return
        if self.access_log is not None:
            self.access_log.start()
        self.metrics.process.watch_gc()
        db.observers.append(QueryObserver(self.metrics, self.settings.slow_query_seconds))
        db.acquire_observers.append(self.metrics.histogram(self.metrics.acquire_wait).observe)
        if self.tracing is not None:
            db.observers.append(self.tracing.query)
        if cache is not None:
            cache.observers.append(CacheObserver(self.metrics, self.recorder))
            if self.tracing is not None:
                cache.observers.append(self.tracing.cache)
        self._sampler = Sampler(
            self.metrics,
            db,
            self.settings.sample_interval_seconds,
            breaker_open=(lambda: bool(cache.breaker_open)) if cache is not None else None,
            l1_usage=cache.local.usage if cache is not None else None,
            recorder=self.recorder,
            # Several workers: each one's count goes to its file, summed at scrape.
            in_flight=self.in_flight if multiprocess_dir() is not None else None,
        )
        self._sampler.sample()
        self._sampler.start()

    async def stop(self) -> None:
        self.metrics.process.unwatch_gc()
        if self._listener is not None:
            await self._listener.stop()
        if self._sampler is not None:
            await self._sampler.stop()
        if self.access_log is not None:
            await self.access_log.stop()
        if self.tracing is not None:
            self.tracing.shutdown()  # flushes the spans still batched
        mark_process_dead(os.getpid())
