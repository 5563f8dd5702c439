"""Telemetry on the real app: metrics by route and query name, pool gauges, Server-Timing that
matches the queries run, and traces where the dashboard's concurrent reads overlap."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from brisk.app import create_app
from brisk.doctor.cache import ratios_from_metrics
from brisk.observability.logs import AccessLog
from brisk.observability.setup import Telemetry
from brisk.observability.tracing import Tracing
from brisk.services import Services
from tests.conftest import make_settings
from tests.integration.conftest import Api, quick_user
from tests.integration.conftest import database_calls as counting

DASHBOARD_READS = {
    "get-user-by-id",
    "list-articles-by-author-id",
    "list-feed",
    "list-notifications",
    "count-unread-notifications",
}


def sample(services: Services, name: str, labels: dict[str, str] | None = None) -> float:
    """A sample's value; 0 when the series does not exist."""
    telemetry: Telemetry = services.telemetry_for_tests  # type: ignore[attr-defined]
    telemetry.metrics.flush()
    return telemetry.metrics.registry.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture(scope="module")
async def traced(
    database_url: str, servers: tuple[str, str]
) -> AsyncIterator[tuple[Any, Services, InMemorySpanExporter, list[bytes]]]:
    """An app of its own: tracing into memory, the dashboard's concurrent strategy, a pool
    with a connection ready for each of its five reads."""
    settings = make_settings(
        database_url,
        servers[1],
        dashboard={"strategy": "concurrent"},
        db={"pool_min_size": 5, "pool_max_size": 8},
        telemetry={"server_timing": "all"},  # the detail these tests read (default: total)
    )
    exporter = InMemorySpanExporter()
    lines: list[bytes] = []
    telemetry = Telemetry(
        settings.telemetry,
        tracing=Tracing.with_processor(SimpleSpanProcessor(exporter)),
        access_log=AccessLog(lines.append),
    )
    app = create_app(settings, telemetry=telemetry)
    async with LifespanManager(app) as manager:
        services: Services = app.state.services
        services.telemetry_for_tests = telemetry  # type: ignore[attr-defined]
        yield manager.app, services, exporter, lines


@pytest.fixture
async def traced_client(
    traced: tuple[Any, Services, InMemorySpanExporter, list[bytes]],
) -> AsyncIterator[httpx.AsyncClient]:
    # The tables were just emptied behind the cache's back (tests/conftest.py): start it empty.
    await traced[1].cache.clear()
    transport = httpx.ASGITransport(app=traced[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as c:
        yield c


async def test_metrics_name_routes_and_queries(
    traced: tuple[Any, Services, InMemorySpanExporter, list[bytes]],
    traced_client: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    services = traced[1]
    author = await quick_user(db, services, "metrics_author")
    article = await Api(traced_client).create_article(author, "Measured")
    for _ in range(3):
        response = await traced_client.get(f"/api/articles/{article['slug']}")
        assert response.status_code == 200
    text = (await traced_client.get("/metrics")).text
    assert "# TYPE http_server_request_duration_seconds histogram" in text
    route = {
        "http_request_method": "GET",
        "http_route": "/api/articles/{slug}",
        "http_response_status_code": "200",
    }
    assert sample(services, "http_server_request_duration_seconds_count", route) == 3
    assert article["slug"] not in text  # the raw path never becomes a label
    by_slug = {"query": "get-article-by-slug"}
    assert sample(services, "brisk_db_query_duration_seconds_count", by_slug) >= 1  # then cached
    assert sample(services, "brisk_db_pool_acquire_wait_seconds_count") >= 1
    assert sample(services, "brisk_db_pool_connections", {"state": "max"}) == 8
    assert sample(services, "brisk_db_pool_connections", {"state": "open"}) >= 5
    assert "\nhttp_server_active_requests 1.0\n" in text  # the /metrics request itself


async def test_server_timing_and_access_log_match_the_queries_run(
    traced: tuple[Any, Services, InMemorySpanExporter, list[bytes]],
    traced_client: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    services, lines = traced[1], traced[3]
    me = await quick_user(db, services, "timed")
    await traced_client.get("/api/articles", headers=me.auth)  # the token's generation, cached
    with counting(services) as names:
        response = await traced_client.get(
            "/api/dashboard", headers={**me.auth, "X-Request-ID": "dash-1"}
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "dash-1"
    match = re.search(r'db;dur=([\d.]+);desc="(\d+) queries"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    assert int(match.group(2)) == len(names) == 5
    assert float(match.group(1)) > 0
    line = next(entry for entry in lines if b'"dash-1"' in entry)
    assert b'"route":"/api/dashboard"' in line
    assert b'"db_queries":5' in line


def _overlap(a: ReadableSpan, b: ReadableSpan) -> bool:
    a0, a1, b0, b1 = a.start_time or 0, a.end_time or 0, b.start_time or 0, b.end_time or 0
    return a0 < b1 and b0 < a1


async def test_concurrent_dashboard_reads_are_overlapping_child_spans(
    traced: tuple[Any, Services, InMemorySpanExporter, list[bytes]],
    traced_client: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    services, exporter = traced[1], traced[2]
    me = await quick_user(db, services, "traced")
    await traced_client.get("/api/articles", headers=me.auth)  # the token's generation, cached
    exporter.clear()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await traced_client.get("/api/dashboard", headers={**me.auth, "traceparent": parent})
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    (request,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert request.name == "GET /api/dashboard"
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/api/dashboard"
    assert request.attributes["http.response.status_code"] == 200
    # The caller's trace goes on (W3C traceparent).
    assert f"{request.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    queries = [s for s in spans if s.kind == SpanKind.CLIENT and not s.name.startswith("cache ")]
    assert {s.name for s in queries} == DASHBOARD_READS
    for span in queries:
        assert span.parent is not None
        assert span.parent.span_id == request.context.span_id
        assert request.start_time <= span.start_time
        assert span.end_time <= request.end_time
    overlapping = [
        (a.name, b.name) for a in queries for b in queries if a is not b and _overlap(a, b)
    ]
    assert overlapping, "the concurrent strategy's reads should run at the same time"


async def test_cache_lookups_reach_metrics_and_server_timing(
    traced: tuple[Any, Services, InMemorySpanExporter, list[bytes]],
    traced_client: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    services, exporter = traced[1], traced[2]
    author = await quick_user(db, services, "cached_author")
    article = await Api(traced_client).create_article(author, "Cached")
    path = f"/api/articles/{article['slug']}"
    await traced_client.get(path)  # a miss that loads and stores
    exporter.clear()
    response = await traced_client.get(path)
    assert response.status_code == 200
    timing = response.headers["server-timing"]
    match = re.search(r'cache;dur=([\d.]+);desc="(\d+) calls, (\d+) hits, (\d+) misses"', timing)
    assert match, timing
    assert int(match.group(2)) >= 1
    assert int(match.group(3)) >= 1, "the second read of the article is a cache hit"
    layers = ratios_from_metrics((await traced_client.get("/metrics")).text)
    assert sum(layer.get("hit", 0) for layer in layers.values()) >= 1
    assert sample(services, "brisk_cache_redis_breaker_open") == 0
    for _ in range(100):  # the sampler sets the L1 gauges every half second
        if sample(services, "brisk_cache_l1_entries") >= 1:
            break
        await asyncio.sleep(0.05)
    assert sample(services, "brisk_cache_l1_entries") >= 1, "the article read filled L1"
    assert sample(services, "brisk_cache_l1_bytes") > 0
    cache_spans = [s for s in exporter.get_finished_spans() if s.name.startswith("cache ")]
    assert cache_spans
    assert cache_spans[0].attributes is not None
    assert cache_spans[0].attributes["brisk.cache.result"] in {"hit", "miss", "bypass"}
