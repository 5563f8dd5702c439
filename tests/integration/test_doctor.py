"""`brisk doctor` on a seeded database: a healthy one passes, a dropped index or an
oversubscribed pool fails it, and --json says what it found."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from brisk.doctor.samples import ARGS
from brisk.lab.seed import SCALES, seed_database
from tests.conftest import create_scratch_database, drop_database

pytestmark = pytest.mark.integration

# XS tables hold 500 to ~15,000 rows: count those with a thousand or more as big.
MIN_ROWS = "1000"


@pytest.fixture(scope="module")
async def seeded_url(servers: tuple[str, str]) -> AsyncIterator[str]:
    admin_url = servers[0]
    url = await create_scratch_database(admin_url, "brisk_doctor")
    await seed_database(url, SCALES["XS"], seed=11)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    yield url
    await drop_database(admin_url, url)


def doctor(url: str, redis_url: str, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    """`brisk doctor --json` as an operator (or CI) runs it: (exit status, report)."""
    result = subprocess.run(
        [sys.executable, "-m", "brisk.cli", "doctor", "--json", "--min-rows", MIN_ROWS, *args],
        env={**os.environ, "BRISK_DATABASE_URL": url, "BRISK_REDIS_URL": redis_url, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def _errors(report: dict[str, Any]) -> list[dict[str, str]]:
    return [f for f in report["findings"] if f["severity"] == "error"]


def test_a_healthy_seeded_database_passes(seeded_url: str, servers: tuple[str, str]) -> None:
    code, report = doctor(seeded_url, servers[1])
    assert _errors(report) == []
    assert code == 0
    assert report["ok"] is True
    explained = {q["name"] for q in report["queries"]}
    # Every query with sample arguments, which test_query_plans holds equal to every request
    # query (the registry of this process may also hold the unit tests' toy queries).
    assert explained == set(ARGS)
    for q in report["queries"]:
        assert q["execution_ms"] >= 0
        assert q["shared_hit_blocks"] + q["shared_read_blocks"] >= 0
    page = next(q for q in report["queries"] if q["name"] == "list-comments")
    assert "comments_article_created_idx" in page["indexes"]
    assert report["pool"]["wanted"] <= report["pool"]["available"]
    assert report["cache"]["redis_server"]["keyspace_hits"] >= 0


def test_an_oversubscribed_pool_fails(seeded_url: str, servers: tuple[str, str]) -> None:
    code, report = doctor(seeded_url, servers[1], "--workers", "16", BRISK_DB__POOL_MAX_SIZE="40")
    assert code == 1
    (pool,) = [f for f in _errors(report) if f["check"] == "pool"]
    assert "40 connections x 16 workers = 640" in pool["message"]


async def test_a_dropped_index_fails_and_names_the_query(
    seeded_url: str, servers: tuple[str, str]
) -> None:
    conn = await asyncpg.connect(seeded_url)
    definition = await conn.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'comments_article_created_idx'"
    )
    await conn.execute("DROP INDEX comments_article_created_idx")
    try:
        code, report = await asyncio.to_thread(doctor, seeded_url, servers[1])
        assert code == 1
        assert report["ok"] is False
        scans = [f for f in _errors(report) if f["check"] == "seq_scan"]
        assert {f["subject"] for f in scans} >= {"list-comments"}
        assert all("comments" in f["message"] for f in scans)
        missing = [f for f in report["findings"] if f["check"] == "missing_index"]
        assert any("comments_article_id_fkey" in f["message"] for f in missing)
    finally:
        await conn.execute(definition)
        await conn.execute("ANALYZE comments")
        await conn.close()
    code, _ = await asyncio.to_thread(doctor, seeded_url, servers[1])
    assert code == 0


def test_an_empty_database_is_healthy_with_nothing_to_explain_yet(
    database_url: str, servers: tuple[str, str]
) -> None:
    # Issue 13 changed this from an error (exit 1) to a warning: a new database is not broken.
    code, report = doctor(database_url, servers[1])
    assert code == 0
    assert _errors(report) == []
    data = [f for f in report["findings"] if f["check"] == "data"]
    assert len(data) == 1
    assert data[0]["severity"] == "warning"
    assert "nothing to explain yet" in data[0]["message"]
    strict_code, _ = doctor(database_url, servers[1], "--strict")
    assert strict_code == 1
