"""The article's four claims, each measured: query time with and without indexes, database
calls per request with and without the cache, time saved by concurrent reads (and by one
round trip), errors and latency with ten times more clients than the pool."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import asyncpg

from brisk.lab.profiles import BRISK_APP, NAIVE_APP
from brisk.lab.runner import Server, drive
from brisk.lab.workload import Request, write_requests

# Hot lookups of the mix, as SQL, with parameters picked from the data below.
_QUERIES = {
    "article by slug": ("SELECT id, title, body FROM articles WHERE slug = $1", "slug"),
    "profile by username": ("SELECT id, bio FROM users WHERE username = $1", "username"),
    "latest articles": (
        "SELECT id, title FROM articles ORDER BY created_at DESC, id DESC LIMIT 20",
        None,
    ),
    "articles by tag": (
        "SELECT a.id FROM articles a JOIN article_tags t ON t.article_id = a.id"
        " WHERE t.tag_id = $1 ORDER BY a.created_at DESC LIMIT 20",
        "tag_id",
    ),
    "an author's articles": (
        "SELECT id FROM articles WHERE author_id = $1 ORDER BY created_at DESC LIMIT 5",
        "user_id",
    ),
    "comments of an article": (
        "SELECT id, body FROM comments WHERE article_id = $1 ORDER BY created_at DESC LIMIT 20",
        "article_id",
    ),
    "favorites of an article": (
        "SELECT count(*) FROM favorites WHERE article_id = $1",
        "article_id",
    ),
    "notifications of a user": (
        "SELECT id, kind FROM notifications WHERE recipient_id = $1 ORDER BY id DESC LIMIT 10",
        "user_id",
    ),
}
_PARAMETERS = """
SELECT a.slug, a.id AS article_id, a.author_id AS user_id, u.username,
       (SELECT tag_id FROM article_tags WHERE article_id = a.id LIMIT 1) AS tag_id
FROM articles a JOIN users u ON u.id = a.author_id
WHERE a.id = (SELECT max(id) FROM articles) / 2
"""


async def _execution_ms(conn: asyncpg.Connection, sql: str, args: list[Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        times.append(float(json.loads(plan)[0]["Execution Time"]))
    return statistics.median(times)


async def query_times(shipped: str, bare: str, *, runs: int = 3) -> dict[str, Any]:
    """Execution time (EXPLAIN ANALYZE, median of `runs`) of each hot lookup, both schemas."""
    results: dict[str, dict[str, float]] = {}
    for label, url in (("with", shipped), ("without", bare)):
        conn = await asyncpg.connect(url)
        try:
            params = await conn.fetchrow(_PARAMETERS)
            assert params is not None
            for name, (sql, key) in _QUERIES.items():
                args = [params[key]] if key else []
                results.setdefault(name, {})[f"{label}_ms"] = await _execution_ms(
                    conn, sql, args, runs
                )
        finally:
            await conn.close()
    with_total = sum(r["with_ms"] for r in results.values())
    without_total = sum(r["without_ms"] for r in results.values())
    return {
        "queries": results,
        "with_ms": with_total,
        "without_ms": without_total,
        "reduction_pct": 100 * (1 - with_total / without_total) if without_total else 0.0,
        "article_reduction_pct": 70,
    }


def parallel_reads(
    url: str,
    env: dict[str, str],
    dashboard: list[Request],
    workdir: Path,
    *,
    seconds: float,
    cpus: tuple[int | None, int | None],
) -> dict[str, Any]:
    """GET /api/dashboard alone, one client at a time, with each of brisk's strategies."""
    path = workdir / "dashboard.tsv"
    write_requests(dashboard, path)
    out: dict[str, Any] = {}
    for strategy in ("sequential", "concurrent", "single"):
        strategy_env = env | {"BRISK_DATABASE_URL": url, "BRISK_DASHBOARD__STRATEGY": strategy}
        with Server(BRISK_APP, strategy_env, cpu=cpus[1]) as server:
            drive(server.url, path, 1, connections=1, cpu=cpus[0])  # warm-up
            run = drive(server.url, path, seconds, connections=1, cpu=cpus[0])
        out[strategy] = {"avg_ms": run.avg_ms, "p50_ms": run.p50_ms, "p95_ms": run.p95_ms}
    sequential = out["sequential"]["avg_ms"]
    out["saved_by_concurrent_ms"] = sequential - out["concurrent"]["avg_ms"]
    out["saved_by_single_round_trip_ms"] = sequential - out["single"]["avg_ms"]
    out["article_saved_ms"] = 400
    return out


def pooling(
    url: str,
    env: dict[str, str],
    requests_file: Path,
    *,
    pool: int,
    seconds: float,
    cpus: tuple[int | None, int | None],
) -> dict[str, Any]:
    """Ten times more clients than pool connections: the naive app with projected queries,
    with a pool of `pool` connections and with a new connection per request; brisk too."""
    clients = 10 * pool
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "without_pool": (NAIVE_APP, {"BRISK_LAB_QUERIES": "1"}),
        "with_pool": (
            NAIVE_APP,
            {"BRISK_LAB_QUERIES": "1", "BRISK_LAB_POOL": "1", "BRISK_LAB_POOL_SIZE": str(pool)},
        ),
        "brisk": (BRISK_APP, {"BRISK_DB__POOL_MAX_SIZE": str(pool)}),
    }
    out: dict[str, Any] = {"pool_size": pool, "clients": clients}
    for name, (app, extra) in cases.items():
        with Server(app, env | {"BRISK_DATABASE_URL": url} | extra, cpu=cpus[1]) as server:
            run = drive(server.url, requests_file, seconds, connections=clients, cpu=cpus[0])
        out[name] = {
            "errors": run.errors,
            "requests": run.requests,
            "throughput_rps": run.throughput_rps,
            "p50_ms": run.p50_ms,
            "p99_ms": run.p99_ms,
        }
    return out


def cache_calls(profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Database transactions per request, from the profile runs, with and without a cache."""

    def calls(name: str) -> float | None:
        found = profiles.get(name)
        return None if found is None else found.get("db_calls_per_request")

    return {
        "after": calls("after"),
        "after_without_cache": calls("after-cache"),
        "before": calls("before"),
        "before_with_cache": calls("before+cache"),
        "note": "PostgreSQL transactions (pg_stat_database) per HTTP request: each statement "
        "outside a transaction is one, a transaction of several statements is one",
    }
