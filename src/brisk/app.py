"""create_app(settings): the ASGI app, and the lifespan that opens and closes its pools in order."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from brisk import __version__
from brisk.api import health
from brisk.api.cached_reads import CachedReads
from brisk.api.consistency import ReadYourWrites
from brisk.api.docs import install_docs
from brisk.api.drain import Drain, release_worker_threads
from brisk.api.errors import install_error_handlers
from brisk.api.fastpath import CachedReadFastPath
from brisk.api.limits import BodySizeLimit
from brisk.api.openapi import document
from brisk.api.response_headers import ResponseHeaders
from brisk.articles import router as articles
from brisk.cache.redis_client import RedisClient, close_redis, create_redis
from brisk.comments import router as comments
from brisk.dashboard import router as dashboard
from brisk.db import create_database
from brisk.notifications import router as notifications
from brisk.observability.setup import Telemetry
from brisk.profiles import router as profiles
from brisk.responses import JSONBytes
from brisk.services import build_services
from brisk.settings import Settings
from brisk.tags import router as tags
from brisk.users import router as users

log = logging.getLogger(__name__)

# Every domain's routes, in the order they are matched; each may declare CACHED_READS.
DOMAIN_ROUTES = (users, profiles, articles, comments, tags, notifications, dashboard)
API_PREFIX = "/api"
# The most the lifespan's close (telemetry, cache, Redis, pools) may take before it drops the
# connections: under granian's kill margin (cli/http_server.py), so a worker ends on its own.
CLOSE_SECONDS = 4.0


def _redis_client(settings: Settings) -> RedisClient | None:
    if not settings.redis_url:
        return None
    return create_redis(settings.redis_url, settings.redis)


# Collect young objects every 20,000 allocations instead of 700, and old ones less often.
GC_THRESHOLDS = (20_000, 50, 100)


def tune_gc() -> None:
    """Freeze what startup built and make collections rarer.

    Under load (GET /api/articles, 15 s of wrk) CPython's default thresholds ran 1,638 young,
    149 middle and 13 full collections: 2.2 s of the 15 s, with full-collection pauses up to
    145 ms -- the p99. Frozen startup objects (routes, schemas, pools) are never scanned again;
    with these thresholds the same load spent 0.12 s in 219 collections, longest 47 ms.
    Reference counting still frees almost everything at once; only cycles wait longer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _add_middleware(app: FastAPI, settings: Settings, fast_path: CachedReads | None) -> None:
    """The pure-ASGI layers between telemetry (added last, outermost but for the fast path
    that answers for itself) and the routes; each add_middleware wraps the ones before it, so
    this reads from the innermost out. `fast_path`: the cached reads it answers here, inside
    the telemetry (None: it is outermost, or the cache is off)."""
    app.add_middleware(
        BodySizeLimit,
        max_body_bytes=settings.http.max_body_bytes,
        body_timeout_seconds=settings.http.body_timeout_seconds,
    )
    if settings.database_replica_urls:
        app.add_middleware(ReadYourWrites)
    # Inside the fast path, which sets the same headers on what it answers itself.
    app.add_middleware(ResponseHeaders, prefix=API_PREFIX)
    if fast_path is not None:  # outside ReadYourWrites: an L1 hit needs no database at all
        app.add_middleware(CachedReadFastPath, reads=fast_path)
    if settings.http.trusted_proxies:
        # Outermost but for telemetry (which reads no address): the client address is
        # settled before anything reads it.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.http.trusted_proxies)


def create_app(
    settings: Settings, *, telemetry: Telemetry | None = None, drain_on_sigterm: bool = False
) -> FastAPI:
    """The app; `drain_on_sigterm` (servers only, never tests) defers the server's SIGTERM."""
    if not settings.database_url:
        raise ValueError("database_url is required (brisk serve provides the embedded one)")
    database_url = settings.database_url
    telemetry = telemetry if telemetry is not None else Telemetry.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await create_database(database_url, settings.db, settings.database_replica_urls)
        redis = _redis_client(settings)
        services = app.state.services = build_services(settings, db, redis)
        await services.cache.start()
        await telemetry.start(services.db, services.cache)
        tune_gc()
        if drain_on_sigterm:
            drain.install()
        try:
            yield
        finally:
            drain.uninstall()
            await telemetry.in_flight.settled(settings.http.shutdown_grace_seconds)
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await telemetry.stop()
                    # Reverse order of opening; the pool waits for borrowed connections.
                    await services.cache.stop()
                    if redis is not None:
                        await close_redis(redis)
                    await db.close()
            except TimeoutError:
                # Something still holds a connection, or waits on a server that is gone: a
                # worker whose main process died (nobody left to kill it) hung here for good,
                # retrying PostgreSQL every few milliseconds (seen after a test's teardown).
                log.error("shutdown: closing took over %g s; connections dropped", CLOSE_SECONDS)
                db.terminate()
            release_worker_threads()

    app = FastAPI(
        title="brisk",
        version=__version__,
        summary="A fast, measured RealWorld (Conduit) API",
        lifespan=lifespan,
        default_response_class=JSONBytes,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        # FastAPI >= 0.165 instruments requests itself once a global OpenTelemetry provider is
        # set, and asks the three providers whether one is, on every request (~5% of a cached
        # read's CPU, py-spy, issue 16). brisk has its own telemetry (observability/).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    install_docs(app)
    for domain in DOMAIN_ROUTES:
        app.include_router(domain.router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.openapi = document(app, settings)  # type: ignore[method-assign]
    reads = _cached_reads() if settings.cache.enabled else None
    answers = telemetry.fast_answers() if reads is not None else None
    _add_middleware(app, settings, reads if answers is None else None)
    app.state.telemetry = telemetry
    app.state.drain = drain = Drain(settings.http.drain_seconds)
    telemetry.install(app)  # its middleware is outermost and times everything else
    if reads is not None and answers is not None:
        # Outside even that: a cached read answers, counts and logs itself (ADR 0028), and
        # only what it hands on enters the telemetry middleware.
        app.add_middleware(CachedReadFastPath, reads=reads, answers=answers)
    return app


def _cached_reads() -> CachedReads:
    declared = [(d.router, getattr(d, "CACHED_READS", ())) for d in DOMAIN_ROUTES]
    return CachedReads.declared(declared, prefix=API_PREFIX)
