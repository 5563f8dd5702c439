"""Logs and metrics as the ecosystem reads them: ISO 8601 times, no ANSI copies, trace ids
when tracing, routes for requests answered before routing, quiet probes, process metrics."""

from __future__ import annotations

import gc
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from brisk.api.limits import BodySizeLimit
from brisk.cache.local import LocalCache
from brisk.lab.soak_probes import server_counters, window_facts
from brisk.observability.logs import AccessLog, JsonFormatter, logging_config
from brisk.observability.metrics import Metrics
from brisk.observability.sampler import Sampler
from brisk.observability.setup import Telemetry
from brisk.observability.tracing import Tracing
from brisk.settings import Settings, TelemetrySettings

ISO_8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
DURATION = "http_server_request_duration_seconds"


def app_with(
    tmp_path: Path, tracing: Tracing | None = None, **settings: object
) -> tuple[FastAPI, Metrics, list[bytes]]:
    app = FastAPI()

    @app.post("/api/things/{name}")
    async def thing(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    (tmp_path / "swagger.js").write_text("// a script")
    app.mount("/docs/assets", StaticFiles(directory=tmp_path))
    app.add_middleware(BodySizeLimit, max_body_bytes=1024)
    metrics, lines = Metrics(), []
    telemetry = Telemetry(
        TelemetrySettings(**settings),  # type: ignore[arg-type]
        metrics=metrics,
        access_log=AccessLog(lines.append),
        tracing=tracing,
    )
    telemetry.install(app)
    return app, metrics, lines


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def count(metrics: Metrics, method: str, route: str, status: int) -> float | None:
    metrics.flush()
    labels = {"http_request_method": method, "http_route": route}
    labels["http_response_status_code"] = str(status)
    return metrics.registry.get_sample_value(f"{DURATION}_count", labels)


async def test_rejected_before_routing_and_mounted_files_are_labelled_by_route(
    tmp_path: Path,
) -> None:
    app, metrics, _ = app_with(tmp_path)
    async with client(app) as c:
        assert (await c.post("/api/things/x", content=b"x" * 4096)).status_code == 413
        assert (await c.get("/docs/assets/swagger.js")).status_code == 200
        assert (await c.get("/no/such/thing")).status_code == 404
    assert count(metrics, "POST", "/api/things/{name}", 413) == 1
    assert count(metrics, "GET", "/docs/assets/{path}", 200) == 1
    assert count(metrics, "GET", "unmatched", 404) == 1  # only paths no route has


async def test_access_lines_have_iso_times_and_probes_can_be_left_out(tmp_path: Path) -> None:
    app, metrics, lines = app_with(tmp_path, access_log_exclude=["/health/live"])
    async with client(app) as c:
        await c.get("/health/live")
        await c.post("/api/things/x", json={})
    assert count(metrics, "GET", "/health/live", 200) == 1  # measured, not logged
    (line,) = [orjson.loads(raw) for raw in lines]
    assert line["route"] == "/api/things/{name}"
    assert ISO_8601.fullmatch(line["ts"]), line["ts"]
    assert "trace_id" not in line  # no tracing, no ids


async def test_with_tracing_every_line_names_its_trace(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_processor(SimpleSpanProcessor(exporter))
    app, _, lines = app_with(tmp_path, tracing=tracing)
    async with client(app) as c:
        await c.post("/api/things/x", json={})
    (span,) = exporter.get_finished_spans()
    (line,) = [orjson.loads(raw) for raw in lines]
    assert line["trace_id"] == format(span.context.trace_id, "032x")
    assert line["span_id"] == format(span.context.span_id, "016x")
    tracing.shutdown()


def test_json_records_have_iso_times_and_no_ansi_copy() -> None:
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "levelname": "INFO", "msg": "Started server process [1]"}
    )
    record.color_message = "Started server process [\x1b[36m1\x1b[0m]"
    entry = orjson.loads(JsonFormatter().format(record))
    assert "color_message" not in entry
    assert ISO_8601.fullmatch(entry["ts"]), entry["ts"]


def test_process_and_gc_metrics_are_sampled_per_process() -> None:
    metrics = Metrics()
    metrics.process.sample()
    gc.collect()
    metrics.process.sample()
    value = metrics.registry.get_sample_value
    assert (value("process_resident_memory_bytes") or 0) > 1_000_000
    assert (value("process_open_fds") or 0) >= 3
    assert (value("process_cpu_seconds_total") or 0) > 0
    assert (value("python_gc_collections_total", {"generation": "2"}) or 0) >= 1


def test_gc_pauses_are_timed_by_generation_while_watched() -> None:
    metrics = Metrics()
    value = metrics.registry.get_sample_value
    metrics.process.watch_gc()
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        metrics.process.unwatch_gc()
    assert value("brisk_gc_pause_seconds_count", {"generation": "2"}) is None  # until a sample
    metrics.process.sample()
    assert value("brisk_gc_pause_seconds_count", {"generation": "2"}) == 1
    assert (value("brisk_gc_pause_seconds_count", {"generation": "0"}) or 0) >= 1
    assert (value("brisk_gc_pause_seconds_sum", {"generation": "2"}) or 0) > 0
    gc.collect(2)  # no longer watched
    metrics.process.sample()
    assert value("brisk_gc_pause_seconds_count", {"generation": "2"}) == 1


def test_the_soak_reads_gc_pauses_from_a_scrape() -> None:
    metrics = Metrics()
    metrics.process.watch_gc()
    try:
        gc.collect(2)
        gc.collect(1)
    finally:
        metrics.process.unwatch_gc()
    metrics.process.sample()
    counters = server_counters(metrics.render()[0].decode())
    assert counters["gc2_pauses"] == 1
    assert counters["gc1_pauses"] >= 1
    assert counters["gc_pause_ms"] > 0
    value = metrics.registry.get_sample_value
    within = sum(
        value("brisk_gc_pause_seconds_bucket", {"generation": g, "le": "0.05"}) or 0 for g in "012"
    )
    assert (
        counters["gc_pauses_over_50ms"]
        == counters["gc2_pauses"]
        + counters["gc1_pauses"]
        + (counters.get("gc0_pauses", 0))
        - within
    )


def test_the_soak_reads_event_loop_lag_from_a_scrape() -> None:
    metrics = Metrics()
    metrics.loop_lag.observe(0.004)
    metrics.loop_lag.observe(0.25)
    counters = server_counters(metrics.render()[0].decode())
    assert counters["loop_lag_ms"] == pytest.approx(254.0)


def test_l1_usage_is_a_gauge_the_soak_reports_per_window() -> None:
    metrics = Metrics()
    local = LocalCache(max_bytes=1 << 30, ttl=60.0, degraded_ttl=60.0)
    local.put("k", b"v" * (3 * 2**20), local.generation())
    pool = SimpleNamespace(get_size=lambda: 1, get_idle_size=lambda: 1, get_max_size=lambda: 2)
    db = SimpleNamespace(pool=pool, waiting=0)
    Sampler(metrics, db, 1.0, l1_usage=local.usage).sample()  # type: ignore[arg-type]
    value = metrics.registry.get_sample_value
    assert value("brisk_cache_l1_bytes", {}) == local.size_bytes > 3 * 2**20
    assert value("brisk_cache_l1_entries", {}) == 1
    counters = server_counters(metrics.render()[0].decode())
    assert counters["l1_mb"] == pytest.approx(local.size_bytes / 2**20)
    # A gauge: the window shows what L1 held at its end, not the change.
    assert window_facts({"l1_mb": 1.0}, {"l1_mb": 3.0})["l1_mb"] == 3.0


def test_a_soak_window_says_which_routes_and_queries_took_longer() -> None:
    metrics = Metrics()
    route = {"http_request_method": "GET", "http_response_status_code": "200"}
    metrics.request_duration.labels(http_route="/api/tags", **route).observe(0.001)
    metrics.query_duration.labels(query="list-tags").observe(0.002)
    before = server_counters(metrics.render()[0].decode())
    for seconds in (0.010, 0.030):
        metrics.request_duration.labels(http_route="/api/tags", **route).observe(seconds)
    metrics.request_duration.labels(http_route="/api/user", **route).observe(0.002)
    metrics.query_duration.labels(query="list-tags").observe(0.004)
    metrics.cache_requests.labels("l1", "article", "miss").inc(3)
    facts = window_facts(before, server_counters(metrics.render()[0].decode()))
    assert facts["misses_by_family"] == {"l1 article": 3}
    # Only the window's own requests: two of 10 and 30 ms, not the earlier 1 ms one.
    assert facts["ms_by_route"]["/api/tags"] == [2, pytest.approx(20.0)]
    # The busiest (by total time) first.
    assert list(facts["ms_by_route"]) == ["/api/tags", "/api/user"]
    assert facts["ms_by_query"] == {"list-tags": [1, pytest.approx(4.0)]}
    assert not any("|" in key for key in facts)


MULTIPROCESS_SCRIPT = """
from brisk.observability.metrics import Metrics
metrics = Metrics()
metrics.process.sample()
print(metrics.render()[0].decode())
"""


def test_process_metrics_are_there_with_several_workers_too(tmp_path: Path) -> None:
    # prometheus_client picks its multiprocess storage at import: a process of its own.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    shown = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    for name in ("process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total"):
        assert re.search(rf"^{name}(\{{[^}}]*\}})? [0-9.e+]+$", shown.stdout, re.M), name
    assert "python_gc_collections_total" in shown.stdout


@pytest.mark.parametrize("level", ["debug", "warning"])
def test_the_log_level_setting_reaches_the_logging_config(
    level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRISK_TELEMETRY__LOG_LEVEL", level)
    chosen = Settings(dev=True).telemetry.log_level
    config = logging_config(chosen.upper())
    assert config["root"]["level"] == level.upper()
    assert config["loggers"]["uvicorn"]["level"] == level.upper()


def test_a_soak_window_reads_cpu_per_process_and_idle_per_core() -> None:
    from brisk.lab.soak_probes import cpu_ms, idle_ms

    before = cpu_ms(os.getpid())["server_cpu_ms"]
    deadline = time.process_time() + 0.1
    while time.process_time() < deadline:  # 100 ms of this process's CPU
        pass
    assert cpu_ms(os.getpid())["server_cpu_ms"] - before >= 50
    cores = idle_ms()
    assert len(cores) == os.cpu_count()
    assert all(value >= 0 for value in cores.values())
