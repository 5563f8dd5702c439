"""The doctor's pure parts: reading cache ratios from /metrics text, what counts as a problem."""

from __future__ import annotations

import pytest

from brisk.doctor.cache import ratios_from_metrics
from brisk.doctor.model import Report
from brisk.servers import display_url

EXPOSITION = """\
# HELP brisk_cache_requests_total Cache lookups.
# TYPE brisk_cache_requests_total counter
brisk_cache_requests_total{family="article",layer="l1",result="hit"} 90.0
brisk_cache_requests_total{family="tag",layer="l1",result="hit"} 10.0
brisk_cache_requests_total{family="article",layer="l1",result="miss"} 100.0
brisk_cache_requests_total{family="article",layer="l2",result="hit"} 30.0
brisk_cache_requests_total{family="article",layer="l2",result="miss"} 70.0
brisk_cache_requests_total{family="article",layer="l2",result="error"} 4.0
# HELP http_server_active_requests x
# TYPE http_server_active_requests gauge
http_server_active_requests 1.0
"""


def test_cache_ratios_per_layer_from_the_apps_metrics() -> None:
    layers = ratios_from_metrics(EXPOSITION)
    assert layers["l1"]["ratio"] == pytest.approx(0.5)
    assert layers["l2"]["ratio"] == pytest.approx(0.3)
    assert layers["l2"]["error"] == 4


def test_warnings_fail_only_when_strict() -> None:
    report = Report(database="x", min_rows=10)
    report.add("warning", "unused_index", "i", "never scanned")
    report.add("info", "cache", "cache", "unknown")
    assert report.problems() == []
    assert [f.check for f in report.problems(strict=True)] == ["unused_index"]
    report.add("error", "seq_scan", "q", "scan")
    assert report.as_json()["ok"] is False


def test_the_report_never_shows_the_database_password() -> None:
    shown = display_url("postgresql://brisk:hunter2@db.internal:5432/brisk")
    assert "hunter2" not in shown
    assert shown == "postgresql://brisk@db.internal:5432/brisk"
