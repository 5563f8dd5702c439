"""`brisk bench --quick`: runs end to end against real PostgreSQL and Redis, and its report is
complete (every section, every format). The figures are the machine's; only their presence,
sanity and the absence of errors are checked."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from brisk.lab.report import REQUIRED
from brisk.lab.workload import MIX

pytestmark = pytest.mark.integration


def _need_wrk() -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI"):
            pytest.fail("wrk is missing: .ci/run installs it")
        pytest.skip("wrk is not installed (apt-get install wrk)")


@pytest.fixture(scope="module")
def quick_report(
    servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    _need_wrk()
    out = tmp_path_factory.mktemp("bench")
    prefix = f"brisk_lab_test_{os.getpid()}_{secrets.token_hex(2)}"
    env = os.environ | {"BRISK_DATABASE_URL": servers[0], "BRISK_REDIS_URL": servers[1]}
    command = [sys.executable, "-m", "brisk.cli", "bench", "--quick", "--database-prefix", prefix]
    command += ["--json-file", str(out / "r.json"), "--markdown", str(out / "r.md")]
    command += ["--html", str(out / "r.html")]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        _drop_prefixed(servers[0], prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads((out / "r.json").read_text())
    report["_md"] = (out / "r.md").read_text()
    report["_html"] = (out / "r.html").read_text()
    report["_stdout"] = done.stdout
    return report


def _drop_prefixed(admin_url: str, prefix: str) -> None:
    import asyncio

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            names = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
            )
            for row in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_json_has_the_article_table(quick_report: dict[str, Any]) -> None:
    for key in REQUIRED:
        assert key in quick_report, key
    for side in ("before", "after"):
        figures = quick_report[side]
        assert figures["throughput_rps"] > 0
        assert 0 < figures["avg_ms"] <= figures["p95_ms"] * 1.5
        assert figures["p95_ms"] > 0


def test_every_profile_answered_without_errors(quick_report: dict[str, Any]) -> None:
    profiles = quick_report["profiles"]
    assert set(profiles) == {"before", "after"}
    for name, profile in profiles.items():
        assert profile["closed"]["errors"] == 0, name
        assert profile["open"]["errors"] == 0, name
        assert profile["open"]["requests"] > 0, name
        assert len(profile["runs"]) == 2, name
        p = profile["open"]
        assert p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] <= p["p999_ms"] <= p["max_ms"], name
        # The naive app opens a connection per request and reads row by row: more calls.
        assert profile["db_calls_per_request"] > 0, name
    assert profiles["before"]["db_calls_per_request"] > profiles["after"]["db_calls_per_request"]


def test_every_profile_breaks_the_mix_down_per_kind(quick_report: dict[str, Any]) -> None:
    for name, profile in quick_report["profiles"].items():
        kinds = profile["kinds"]
        assert set(kinds) <= set(MIX), name
        assert sum(k["requests"] for k in kinds.values()) == profile["open"]["requests"], name
        for kind, k in kinds.items():
            assert 0 < k["p50_ms"] <= k["p95_ms"] <= k["p99_ms"] <= k["max_ms"], (name, kind)
    after, before = quick_report["profiles"]["after"], quick_report["profiles"]["before"]
    # The fast profile answers hundreds of requests in its open run: every kind, in its share
    # (the naive one may answer a few dozen, too few to hold shares to).
    assert set(after["kinds"]) == set(MIX)
    for kind, k in after["kinds"].items():
        assert k["share"] == pytest.approx(MIX[kind] / 100, abs=0.03), kind
    # brisk says in Server-Timing what each answer cost; the naive app says nothing.
    assert after["kinds"]["article"]["db_queries_per_request"] is not None
    assert after["kinds"]["tags"]["cache_hit_ratio"] > 0.5
    assert before["kinds"]["article"]["db_queries_per_request"] is None
    # Clients holding a popular article's ETag are told it has not changed (the writes change
    # some of those articles, which then answer 200); the naive app sends no ETags at all.
    assert "304" in after["kinds"]["article_revalidate"]["statuses"]
    assert "304" not in before["kinds"].get("article_revalidate", {}).get("statuses", {})
    assert "after per kind" in quick_report["_md"]
    assert "articles_by_tag" in quick_report["_stdout"]


def test_the_four_claims_are_measured(quick_report: dict[str, Any]) -> None:
    claims = quick_report["claims"]
    assert set(claims) == {"indexes", "cache", "parallel", "pooling"}
    assert len(claims["indexes"]["queries"]) >= 8
    assert all(
        q["with_ms"] > 0 and q["without_ms"] > 0 for q in claims["indexes"]["queries"].values()
    )
    assert claims["cache"]["after"] > 0
    for strategy in ("sequential", "concurrent", "single"):
        assert claims["parallel"][strategy]["avg_ms"] > 0
    pooling = claims["pooling"]
    assert pooling["clients"] == 10 * pooling["pool_size"]
    for case in ("without_pool", "with_pool", "brisk"):
        assert pooling[case]["requests"] > 0


def test_generator_ceiling_is_measured(quick_report: dict[str, Any]) -> None:
    generator = quick_report["generator"]
    assert generator["wrk_rps"] > 0
    assert generator["open_model_rps"] > 0
    assert generator["service_max_rps"] > 0
    assert isinstance(generator["ok"], bool)


def test_markdown_and_html_reports(quick_report: dict[str, Any]) -> None:
    md, page = quick_report["_md"], quick_report["_html"]
    for label in ("Avg response time", "P95 latency", "Throughput"):
        assert label in md
        assert label in page
    assert page.count("<svg") >= 3  # throughput bars, contribution bars, latency CDF
    assert "<polyline" in page
    # Self-contained: nothing fetched from elsewhere.
    assert "<script" not in page
    assert "src=" not in page
    assert "Throughput" in quick_report["_stdout"]
    # The lab runs every profile on the server brisk ships with, and says so.
    assert quick_report["meta"]["server"] == "granian"
    assert "Every profile on granian" in md
    assert "Load generator ceiling" in quick_report["_stdout"]
