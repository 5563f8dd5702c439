"""The pieces behind telemetry: the /_perf recorder, the JSON log format, when tracing turns
on, and the metrics folder of several workers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
import pytest

from brisk.observability.context import RequestTiming, current_timing
from brisk.observability.logs import JsonFormatter
from brisk.observability.multiproc import MULTIPROC_ENV, metrics_dir
from brisk.observability.perf import PerfRecorder
from brisk.observability.perf_page import render_page
from brisk.observability.tracing import _wanted


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_percentiles_per_route_within_bucket_precision() -> None:
    clock = Clock()
    recorder = PerfRecorder(window_seconds=300, step_seconds=5, clock=clock)
    for i in range(1, 1001):  # 1..1000 ms, uniformly
        recorder.record("/api/articles", i / 1000)
    recorder.record("/api/tags", 0.002)
    data = recorder.snapshot()
    articles = next(r for r in data["routes"] if r["route"] == "/api/articles")
    assert articles["count"] == 1000
    for key, true in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert true <= articles[key] <= true * 1.16, (key, articles[key])
    assert data["routes"][0]["route"] == "/api/articles"  # busiest first


def test_series_has_a_point_per_step_and_forgets_old_steps() -> None:
    clock = Clock()
    recorder = PerfRecorder(window_seconds=60, step_seconds=5, clock=clock)
    for step in range(20):  # 100 s of traffic, 10 requests a step
        for _ in range(10):
            recorder.record("/api/tags", 0.001)
        recorder.cache("hit" if step % 2 else "miss")
        recorder.pool(in_use=step % 3, size=4, most=10)
        clock.now += 5
    data = recorder.snapshot()
    series = data["series"]
    assert len(series) == 12  # 60 s window / 5 s steps
    full = [p for p in series if p["rps"]]
    assert all(p["rps"] == 2.0 for p in full)  # 10 requests / 5 s
    assert {p["cache_hit_ratio"] for p in full} == {0.0, 1.0}
    assert max(p["pool_in_use"] for p in series) == 2
    assert sum(r["count"] for r in data["routes"]) < 200  # the oldest steps are gone


def test_the_page_and_metrics_paths_are_not_recorded() -> None:
    recorder = PerfRecorder(clock=Clock())
    recorder.record("/_perf/data", 0.001)
    recorder.record("/metrics", 0.001)
    assert recorder.snapshot()["routes"] == []


def test_the_page_embeds_data_that_cannot_close_its_script() -> None:
    recorder = PerfRecorder(clock=Clock())
    recorder.record("/api/</script><script>alert(1)</script>", 0.001)
    page = render_page(recorder.snapshot())
    assert page.count("</script>") == 2  # the page's own two script elements
    assert "http://" not in page  # nothing from a CDN
    assert "https://" not in page


def test_json_log_lines_carry_the_request_id_and_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "brisk.slow_query", "levelname": "WARNING", "msg": "slow query"}
    )
    record.query = "list-articles"
    token = current_timing.set(RequestTiming.of(b"req-1"))
    try:
        line = JsonFormatter().format(record)
    finally:
        current_timing.reset(token)
    entry = orjson.loads(line)
    assert entry["msg"] == "slow query"
    assert entry["level"] == "warning"
    assert entry["request_id"] == "req-1"
    assert entry["query"] == "list-articles"
    assert "\n" not in line


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_is_off_unless_otel_variables_ask(env: dict[str, str], on: bool) -> None:
    assert _wanted(env) is on


def test_several_workers_get_a_fresh_metrics_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with metrics_dir(1) as none:
        assert none is None
        assert MULTIPROC_ENV not in os.environ
    with metrics_dir(2) as made:
        assert made is not None
        assert os.environ[MULTIPROC_ENV] == made
        assert Path(made).is_dir()
    assert not Path(made).exists()
    assert MULTIPROC_ENV not in os.environ


def test_an_operators_metrics_folder_is_emptied_of_old_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    with metrics_dir(4) as folder:
        assert folder == str(tmp_path)
        assert not (tmp_path / "counter_123.db").exists()
    assert (tmp_path / "keep.txt").exists()
