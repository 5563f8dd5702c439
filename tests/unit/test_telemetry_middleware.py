"""The telemetry middleware without a database: route labels, request ids, Server-Timing,
the access log, and what is recorded when the app fails."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import httpx
import orjson
import pytest
from fastapi import APIRouter, FastAPI

from brisk.observability.logs import AccessLog
from brisk.observability.metrics import Metrics
from brisk.observability.middleware import ROUTE_KEY, Answers, FastAnswers, InFlight
from brisk.observability.observers import CacheObserver, QueryObserver
from brisk.observability.setup import Telemetry
from brisk.settings import TelemetrySettings

DURATION = "http_server_request_duration_seconds"


class FastPath:
    """Answers /fast/<status> before routing, as the cache's fast path does."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/fast/"):
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = "/fast/{status}"
        status = int(scope["path"].rsplit("/", 1)[1])
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


class Harness:
    def __init__(self, **settings: object) -> None:
        self.metrics = Metrics()
        self.lines: list[bytes] = []
        self.queries = QueryObserver(self.metrics, slow_seconds=0.05)
        self.cache = CacheObserver(self.metrics)
        router = APIRouter()

        @router.get("/things/{name}")
        async def thing(name: str) -> dict[str, str]:
            # What the pool and the cache report while a request runs.
            self.queries("get-thing", 0.004)
            self.queries("list-things", 0.002)
            self.cache("l1", "thing", "hit", 0.0001)
            return {"name": name}

        @router.get("/boom")
        async def boom() -> None:
            raise RuntimeError("boom")

        @router.get("/concurrent")
        async def concurrent() -> dict[str, int]:
            async def read() -> None:
                self.queries("read", 0.003)

            async with asyncio.TaskGroup() as group:
                for _ in range(3):
                    group.create_task(read())
            return {"ok": 1}

        self.app = FastAPI()
        self.app.include_router(router, prefix="/api")
        self.app.add_middleware(FastPath)
        self.telemetry = Telemetry(
            TelemetrySettings(**settings),  # type: ignore[arg-type]
            metrics=self.metrics,
            access_log=AccessLog(self.lines.append),
        )
        self.telemetry.install(self.app)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://t")

    def count(self, method: str, route: str, status: int) -> float | None:
        labels = {
            "http_request_method": method,
            "http_route": route,
            "http_response_status_code": str(status),
        }
        self.metrics.flush()
        return self.metrics.registry.get_sample_value(f"{DURATION}_count", labels)


async def test_requests_are_labelled_by_route_template_never_raw_path() -> None:
    h = Harness()
    async with h.client() as client:
        for name in ("a", "b", "c"):
            assert (await client.get(f"/api/things/{name}")).status_code == 200
        assert (await client.get("/no/such/path/xyz")).status_code == 404
    assert h.count("GET", "/api/things/{name}", 200) == 3
    assert h.count("GET", "unmatched", 404) == 1
    exposition = h.metrics.render()[0].decode()
    assert "/api/things/a" not in exposition
    assert "/no/such/path" not in exposition


async def test_unknown_methods_share_one_label() -> None:
    h = Harness()
    async with h.client() as client:
        await client.request("BREW", "/api/things/x")
    assert h.count("_OTHER", "/api/things/{name}", 405) == 1


async def test_server_timing_adds_up_the_requests_queries_and_cache_calls() -> None:
    h = Harness(server_timing="all")
    async with h.client() as client:
        response = await client.get("/api/things/x")
    timing = response.headers["server-timing"]
    db = re.search(r'db;dur=([\d.]+);desc="(\d+) queries"', timing)
    cache = re.search(r'cache;dur=([\d.]+);desc="(\d+) calls, (\d+) hits, (\d+) misses"', timing)
    app = re.search(r"app;dur=([\d.]+)", timing)
    assert db, timing
    assert cache, timing
    assert app, timing
    assert float(db.group(1)) == pytest.approx(6.0)
    assert db.group(2) == "2"
    assert float(cache.group(1)) == pytest.approx(0.1)
    # The harness's lookups are L1 hits: counted as hits, none as a miss.
    assert cache.group(3) == cache.group(2)
    assert cache.group(4) == "0"
    assert float(app.group(1)) > 0


async def test_concurrent_tasks_of_a_request_count_towards_it() -> None:
    h = Harness(server_timing="all")
    async with h.client() as client:
        response = await client.get("/api/concurrent")
    assert 'desc="3 queries"' in response.headers["server-timing"]


@pytest.mark.parametrize(
    ("detail", "anonymous", "signed_in"),
    [("total", False, False), ("signed-in", False, True), ("all", True, True)],
)
async def test_server_timing_detail_is_a_setting(
    detail: str, anonymous: bool, signed_in: bool
) -> None:
    h = Harness(server_timing=detail)
    async with h.client() as client:
        plain = await client.get("/api/concurrent")
        with_token = await client.get("/api/concurrent", headers={"Authorization": "Token t"})
    for response, shown in ((plain, anonymous), (with_token, signed_in)):
        timing = response.headers["server-timing"]
        assert ("queries" in timing) is shown, (detail, timing)
        assert ("cache;" in timing) is shown, (detail, timing)
        assert "app;dur=" in timing


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2a9c1e-55aa-4bde-9c1e-000000000001", True),
        ("req.42:abc_DEF", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ('bad" id', False),
        ("line\\nbreak", False),
        ("über", False),
    ],
)
async def test_request_id_is_echoed_when_well_formed_else_replaced(sent: str, kept: bool) -> None:
    h = Harness()
    async with h.client() as client:
        response = await client.get("/api/things/x", headers={"x-request-id": sent.encode()})
    echoed = response.headers["x-request-id"]
    assert (echoed == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", echoed)
    assert orjson.loads(h.lines[-1])["request_id"] == echoed


async def test_generated_request_ids_are_unique() -> None:
    h = Harness()
    async with h.client() as client:
        ids = {(await client.get("/api/things/x")).headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50


async def test_one_json_access_line_per_request() -> None:
    h = Harness()
    async with h.client() as client:
        await client.get("/api/things/x?secret=1", headers={"x-request-id": "abc"})
    assert len(h.lines) == 1
    assert h.lines[0].endswith(b"\n")
    entry = orjson.loads(h.lines[0])
    assert entry["request_id"] == "abc"
    assert entry["route"] == "/api/things/{name}"
    assert entry["path"] == "/api/things/x"  # no query string: it may carry secrets
    assert entry["status"] == 200
    assert entry["db_queries"] == 2
    assert entry["db_us"] == 6000
    assert entry["duration_us"] > 0


async def test_a_failing_app_is_recorded_as_500_and_active_requests_return_to_zero() -> None:
    h = Harness()
    async with h.client() as client:
        response = await client.get("/api/boom")
    assert response.status_code == 500
    assert h.count("GET", "/api/boom", 500) == 1
    assert h.metrics.registry.get_sample_value("http_server_active_requests") == 0
    assert orjson.loads(h.lines[-1])["status"] == 500


async def test_disabled_telemetry_adds_no_middleware_but_metrics_still_answer() -> None:
    h = Harness(enabled=False)
    async with h.client() as client:
        response = await client.get("/api/things/x")
        assert "server-timing" not in response.headers
        assert "x-request-id" not in response.headers
        assert (await client.get("/metrics")).status_code == 200
    assert h.count("GET", "/api/things/{name}", 200) is None
    assert h.lines == []


def test_slow_queries_are_logged_by_name_without_values(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    observe = QueryObserver(metrics, slow_seconds=0.1)
    with caplog.at_level(logging.WARNING, logger="brisk.slow_query"):
        observe("fast-one", 0.05)
        observe("slow-one", 0.25)
    assert [r.query for r in caplog.records] == ["slow-one"]  # type: ignore[attr-defined]
    assert caplog.records[0].duration_ms == 250.0  # type: ignore[attr-defined]
    metrics.flush()
    slow = metrics.registry.get_sample_value("brisk_db_slow_queries_total", {"query": "slow-one"})
    assert slow == 1
    count = metrics.registry.get_sample_value(
        "brisk_db_query_duration_seconds_count", {"query": "fast-one"}
    )
    assert count == 1


def test_cache_results_are_counted_by_layer_family_and_result() -> None:
    metrics = Metrics()
    observe = CacheObserver(metrics)
    for result in ("hit", "hit", "miss", "error"):
        observe("l2", "article", result, 0.0002)
    metrics.flush()
    get = metrics.registry.get_sample_value
    labels = {"layer": "l2", "family": "article"}
    assert get("brisk_cache_requests_total", {**labels, "result": "hit"}) == 2
    assert get("brisk_cache_requests_total", {**labels, "result": "miss"}) == 1
    assert get("brisk_cache_requests_total", {**labels, "result": "error"}) == 1
    assert get("brisk_cache_operation_duration_seconds_count", {"layer": "l2"}) == 4
    for _ in range(3):  # what L1 reports: 0.0, counted in the first bucket
        observe("l1", "article", "hit", 0.0)
    metrics.flush()
    first = {"layer": "l1", "le": "1e-05"}
    assert get("brisk_cache_operation_duration_seconds_bucket", first) == 3
    assert get("brisk_cache_operation_duration_seconds_sum", {"layer": "l1"}) == 0


async def test_fast_path_answers_are_sampled_but_every_request_is_counted() -> None:
    h = Harness(access_log_sample_every=4)
    async with h.client() as client:
        for _ in range(10):
            assert (await client.get("/fast/200")).status_code == 200
        for _ in range(3):  # errors, routed requests and a client's own id: always a line
            await client.get("/fast/404")
            await client.get("/api/things/x")
        await client.get("/fast/200", headers={"x-request-id": "look-me-up"})
    assert h.count("GET", "/fast/{status}", 200) == 11
    assert h.count("GET", "/fast/{status}", 404) == 3
    entries = [orjson.loads(line) for line in h.lines]
    ordinary = [e for e in entries if e["status"] == 200 and e["route"] == "/fast/{status}"]
    assert [e["sample_every"] for e in ordinary] == [4, 4, 1]  # 10 answers: lines at 4 and 8
    assert ordinary[-1]["request_id"] == "look-me-up"
    assert [e["sample_every"] for e in entries if e["status"] == 404] == [1, 1, 1]
    assert len([e for e in entries if e["route"] == "/api/things/{name}"]) == 3


async def test_slow_fast_path_answers_always_get_a_line() -> None:
    h = Harness(access_log_sample_every=100, slow_query_seconds=1e-9)
    async with h.client() as client:
        for _ in range(5):
            await client.get("/fast/200")
    assert [orjson.loads(line)["sample_every"] for line in h.lines] == [1] * 5


async def test_by_default_a_sampled_line_stands_for_sixteen() -> None:
    h = Harness()
    async with h.client() as client:
        for _ in range(32):
            await client.get("/fast/304")
    assert h.count("GET", "/fast/{status}", 304) == 32
    assert [orjson.loads(line)["sample_every"] for line in h.lines] == [16, 16]


async def test_the_fast_paths_own_answers_are_counted_and_sampled_like_the_middlewares() -> None:
    """FastAnswers (ADR 0028): the same headers, histogram, in-flight count and sampling, with
    no middleware around it."""
    metrics, lines = Metrics(), []
    answers = Answers(metrics, access_log=AccessLog(lines.append), sample_every=4)
    in_flight = InFlight()
    fast = FastAnswers(answers, in_flight)
    sent: list[dict[str, Any]] = []
    seen_in_flight: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        seen_in_flight.append(in_flight.count)
        sent.append(message)

    def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": "/api/tags", "headers": list(headers),
                ROUTE_KEY: "/api/tags"}  # fmt: skip

    async def answer(scope: dict[str, Any], status: int) -> None:
        # As api/fastpath.py sends a hit.
        started, headers = time.perf_counter(), []
        request_id = fast.begin(scope, started, headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})
        fast.done(scope, started, status, request_id)

    for _ in range(10):
        await answer(scope(), 200)
    await answer(scope((b"x-request-id", b"mine")), 200)
    await answer(scope(), 304)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    ids = [dict(m["headers"])[b"x-request-id"] for m in starts]
    assert ids[10] == b"mine"
    assert len(set(ids)) == 12
    assert all(re.fullmatch(rb"app;dur=\d+\.\d{3}", dict(m["headers"])[b"server-timing"])
               for m in starts)  # fmt: skip
    assert set(seen_in_flight) == {1}
    assert in_flight.count == 0
    metrics.flush()
    value = metrics.registry.get_sample_value
    route = {"http_request_method": "GET", "http_route": "/api/tags"}
    assert value(f"{DURATION}_count", {**route, "http_response_status_code": "200"}) == 11
    assert value(f"{DURATION}_count", {**route, "http_response_status_code": "304"}) == 1
    entries = [orjson.loads(line) for line in lines]
    # Ten of ours: lines at the 4th and 8th; the client's own id always; the 304 is the 11th
    # ordinary answer (the client's does not count towards the sample): no line.
    assert [(e["sample_every"], e["status"]) for e in entries] == [(4, 200), (4, 200), (1, 200)]
    assert entries[2]["request_id"] == "mine"
    assert all(e["db_queries"] == 0 for e in entries)
