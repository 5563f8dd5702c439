"""Run every check against the configured database and return the report."""

from __future__ import annotations

import asyncpg

from brisk.doctor.budget import Budget
from brisk.doctor.cache import check_cache
from brisk.doctor.checks import check_indexes, check_pool, check_queries, table_rows
from brisk.doctor.model import Report
from brisk.doctor.tuning import check_shared_buffers, check_statistics
from brisk.servers import display_url
from brisk.services import all_queries
from brisk.settings import Settings

# Tables with fewer rows are never "big": a seq scan of 50 tags is the right plan.
DEFAULT_MIN_ROWS = 10_000


async def run_doctor(
    settings: Settings,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    workers: int | None = None,
    metrics_url: str | None = None,
    budget: Budget | None = None,
) -> Report:
    url = settings.database_url
    assert url is not None  # the command checks it
    report = Report(database=display_url(url), min_rows=min_rows)
    conn = await asyncpg.connect(url, timeout=settings.db.connect_timeout_seconds)
    try:
        report.tables = await table_rows(conn)
        await check_statistics(conn, report)
        await check_queries(conn, report, settings.db, all_queries(), budget or Budget())
        await check_shared_buffers(conn, report)
        await check_indexes(conn, report)
        await check_pool(conn, report, settings.db, workers or settings.db.workers)
    finally:
        await conn.close()
    await check_cache(
        report, redis_url=settings.redis_url, redis=settings.redis, metrics_url=metrics_url
    )
    return report
