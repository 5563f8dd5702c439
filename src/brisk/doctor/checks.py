"""The doctor's checks against a live database: plans of every hot query, indexes, pool sizing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from brisk.db.plans import explain, indexes_used, nodes, shared_blocks
from brisk.db.queries import Query
from brisk.db.server import SERVER_HEADROOM, pool_size_for
from brisk.doctor.budget import Budget, cost, verdict
from brisk.doctor.model import QueryPlan, Report
from brisk.doctor.samples import (
    ARGS,
    NoSampleDataError,
    prelude_for,
    request_queries,
    sample_from,
)
from brisk.settings import DbSettings

TABLE_ROWS = """
SELECT c.relname, GREATEST(c.reltuples, s.n_live_tup, 0)::bigint
FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
"""
# Foreign keys whose columns lead no index: a delete of the parent (and any join on them)
# reads the whole child table.
UNINDEXED_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS table_name, c.conname,
       array_agg(a.attname ORDER BY k.n)::text[] AS columns
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
  AND NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = c.conrelid
      AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
  )
GROUP BY 1, 2
"""
# `enforces`: unique and primary keys, and indexes that lead with a foreign key's columns
# (they keep cascading deletes and the key's checks off sequential scans): used, if not by reads.
INDEXES = """
SELECT s.relname AS table_name, s.indexrelname AS index_name, s.idx_scan,
       i.indisunique OR i.indisprimary OR EXISTS (
         SELECT 1 FROM pg_constraint c
         WHERE c.contype = 'f' AND c.conrelid = i.indrelid
           AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
       ) AS enforces,
       i.indisvalid AS valid, pg_relation_size(s.indexrelid) AS bytes
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.schemaname = 'public'
"""


async def table_rows(conn: asyncpg.Connection) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in await conn.fetch(TABLE_ROWS)}


def _scan_detail(node: dict[str, Any]) -> str:
    condition = node.get("Filter")
    return f" (filter {condition})" if condition else ""


async def check_queries(
    conn: asyncpg.Connection,
    report: Report,
    settings: DbSettings,
    registry: Mapping[str, Query],
    budget: Budget,
) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) each request query as the app plans it (its plan_cache_mode),
    with the data's busiest rows as parameters; a query past its budget (time or buffers per
    call) or a seq scan of a big table is an error."""
    try:
        sample = await sample_from(conn)
    except NoSampleDataError as exc:
        # A new database is healthy, merely unexplained: only --strict fails on it.
        report.add(
            "warning",
            "data",
            "database",
            f"nothing to explain yet ({exc}): load data (brisk seed) or let traffic in first",
        )
        return
    big = {t for t, rows in report.tables.items() if rows >= report.min_rows}
    for name in request_queries(registry):
        if name not in ARGS:
            report.add("warning", "seq_scan", name, "no sample arguments: not explained")
            continue
        args, prelude = ARGS[name](sample), prelude_for(name, sample)
        mode = settings.plan_cache_mode
        # Twice, the second measured: a budget judges the plan, not a cold first read from disk.
        await explain(conn, registry[name], args, mode=mode, analyze=True, prelude=prelude)
        plan = await explain(conn, registry[name], args, mode=mode, analyze=True, prelude=prelude)
        root = plan["Plan"]
        scanned = [n for n in nodes(root) if n["Node Type"] == "Seq Scan"]
        spent, (hit, read) = cost(plan), shared_blocks(plan)
        report.queries.append(
            QueryPlan(
                name=name,
                execution_ms=round(plan.get("Execution Time", 0.0), 3),
                planning_ms=round(plan.get("Planning Time", 0.0), 3),
                shared_hit_blocks=hit,
                shared_read_blocks=read,
                rows=int(root.get("Actual Rows", 0)),
                seq_scans=sorted({n["Relation Name"] for n in scanned}),
                indexes=sorted(indexes_used(plan)),
                over_budget=spent.over(budget),
                causes=list(spent.causes),
            )
        )
        if spent.over(budget):
            report.add("error", "budget", name, verdict(spent, budget))
        for node in scanned:
            table = node["Relation Name"]
            if table in big:
                report.add(
                    "error",
                    "seq_scan",
                    name,
                    f"sequential scan of {table} ({report.tables[table]:,} rows)"
                    f"{_scan_detail(node)}: a missing index?",
                )


async def check_indexes(conn: asyncpg.Connection, report: Report) -> None:
    for row in await conn.fetch(UNINDEXED_FOREIGN_KEYS):
        table = row["table_name"]
        if report.tables.get(table, 0) >= report.min_rows:
            columns = ", ".join(row["columns"])
            report.add(
                "warning",
                "missing_index",
                table,
                f"foreign key {row['conname']} ({columns}) leads no index",
            )
    used = {index for q in report.queries for index in q.indexes}
    for row in await conn.fetch(INDEXES):
        index, table = row["index_name"], row["table_name"]
        if not row["valid"]:
            report.add("error", "invalid_index", index, f"index on {table} is invalid: rebuild it")
        elif (
            not row["enforces"]
            and row["idx_scan"] == 0
            and index not in used
            and report.tables.get(table, 0) >= report.min_rows
        ):
            report.add(
                "warning",
                "unused_index",
                index,
                f"never scanned and in no hot query's plan "
                f"({row['bytes'] // 1024:,} KiB on {table})",
            )


async def check_pool(
    conn: asyncpg.Connection, report: Report, settings: DbSettings, workers: int
) -> None:
    """Every worker's pool at its maximum must fit in the server's connections."""
    max_connections = int(await conn.fetchval("SHOW max_connections"))
    reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
    in_use = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity"))
    available = max_connections - reserved - SERVER_HEADROOM
    # As the app sizes its pool (brisk.db.server.inspect_server).
    if settings.pool_max_size is not None:
        per_process = settings.pool_max_size
    elif settings.pgbouncer:
        per_process = pool_size_for(None)
    else:
        per_process = pool_size_for(available // workers)
    wanted = per_process * workers
    report.pool = {
        "pool_max_size": per_process,
        "workers": workers,
        "wanted": wanted,
        "max_connections": max_connections,
        "superuser_reserved": reserved,
        "available": available,
        "connections_now": in_use,
        "explicit": settings.pool_max_size is not None,
        "pgbouncer": settings.pgbouncer,
    }
    if settings.pgbouncer:
        # PgBouncer queues clients past its own pool: the server never sees `wanted`.
        report.add("info", "pool", "pgbouncer", "behind PgBouncer: its pool bounds the server")
    elif wanted > available:
        report.add(
            "error",
            "pool",
            "pool_max_size",
            f"{per_process} connections x {workers} workers = {wanted} > {available} available "
            f"(max_connections {max_connections} - {reserved} reserved - {SERVER_HEADROOM} "
            "headroom): under load PostgreSQL refuses connections",
        )
