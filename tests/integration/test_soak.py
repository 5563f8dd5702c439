"""`brisk bench --soak`: a short soak runs end to end and its report is complete. The real
one (10 minutes) is a report, not a test: docs/RELIABILITY.md."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.integration.test_bench import _drop_prefixed, _need_wrk


def test_short_soak_reports_windows_memory_errors_and_p99(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    _need_wrk()
    prefix = f"brisk_soak_test_{os.getpid()}_{secrets.token_hex(2)}"
    env = os.environ | {"BRISK_DATABASE_URL": servers[0], "BRISK_REDIS_URL": servers[1]}
    command = [sys.executable, "-m", "brisk.cli", "bench", "--scale", "XS", "--soak", "6s"]
    command += [
        "--soak-window",
        "3",
        "--database-prefix",
        prefix,
        "--json-file",
        str(tmp_path / "s.json"),
    ]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        _drop_prefixed(servers[0], prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "s.json").read_text())
    assert len(report["windows"]) == 2
    assert report["capacity_rps"] > 0
    # Both are rounded to 0.1 in the report, from the unrounded capacity.
    assert abs(report["rate_rps"] - report["capacity_rps"] * 0.7) <= 0.2
    assert all(w["requests"] > 0 and w["rss_mb"] > 0 for w in report["windows"])
    assert report["errors"] == 0, (report["errors_by_status"], report["windows"])
    assert report["errors_by_status"] == {}
    assert all(w["errors_by_status"] == {} for w in report["windows"])
    assert set(report["ok"]) == {"rss_growth", "errors", "p99"}
    # What else happened in each window: the server's side from its /metrics, PostgreSQL's.
    for window in report["windows"]:
        facts = window["facts"]
        assert facts["queries"] >= 0
        assert {"gc_pause_ms", "l1_misses", "checkpoints", "autovacuums", "load_1m"} <= set(facts)
        assert facts["loop_lag_ms"] >= 0
        assert facts["blocks_read"] >= 0
        assert facts["runqueue_ms"] >= 0
    assert sum(w["facts"]["queries"] + w["facts"]["l1_misses"] for w in report["windows"]) > 0
    # No claim that blocks_read is above 0: whether the copy's first reads come from outside
    # shared_buffers depends on the server (the embedded one of a developer's `make test`
    # copies the database through its buffers and reads nothing from disk in the windows).
    # Which routes and queries took the time, and whose CPU (issue 14's spikes).
    assert any("/api/articles" in w["facts"]["ms_by_route"] for w in report["windows"])
    misses = [w["facts"]["misses_by_family"] for w in report["windows"]]
    assert all(name.split()[0] in {"l1", "l2"} and n >= 0 for m in misses for name, n in m.items())
    assert sum(w["facts"]["server_cpu_ms"] for w in report["windows"]) > 0
    assert report["capacity_after_rps"] > 0
    assert report["capacity_server_us"] > 0
    assert "capacity (closed model" in done.stdout
    assert "what else happened" in done.stdout
    assert "soak at" in done.stdout
    assert "RSS" in done.stdout
