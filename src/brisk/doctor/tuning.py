"""The doctor's server checks: statistics the planner relies on, and memory for the hot set."""

from __future__ import annotations

import math

import asyncpg

from brisk.doctor.model import Report

# reltuples is -1 until a table is first vacuumed or analyzed (PostgreSQL 14+); the activity
# counters reset in a copy of a database (the lab's), pg_class does not.
STATISTICS = """
SELECT c.relname, c.reltuples, coalesce(s.n_live_tup, 0) AS live,
       coalesce(s.n_mod_since_analyze, 0) AS changed
FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
"""
# Past this share of a table changed since its last ANALYZE, its statistics are stale.
STALE_SHARE = 0.2
# Below this many buffer reads the server's hit ratio says nothing yet.
MIN_BLOCKS_FOR_RATIO = 10_000
GOOD_HIT_RATIO = 0.99


async def check_statistics(conn: asyncpg.Connection, report: Report) -> None:
    for row in await conn.fetch(STATISTICS):
        table, rows = row["relname"], max(int(row["reltuples"]), int(row["live"]))
        if rows < report.min_rows and row["reltuples"] >= 0:
            continue
        if row["reltuples"] < 0 and row["live"] >= report.min_rows:
            report.add(
                "error",
                "statistics",
                table,
                f"never analyzed ({row['live']:,} rows): the planner guesses; run ANALYZE",
            )
        elif rows >= report.min_rows and row["changed"] > STALE_SHARE * rows:
            report.add(
                "warning",
                "statistics",
                table,
                f"{row['changed']:,} of {rows:,} rows changed since the last ANALYZE",
            )


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


# Room beside the hot indexes for the heap pages and the counters' rows the queries also read.
HEADROOM = 1.25


def suggested_shared_buffers(hot: int) -> str:
    """A shared_buffers setting that holds `hot` bytes of index with room to spare: the next
    power of two, as postgresql.conf writes it ('2GB', '512MB')."""
    mib = 1 << max(0, math.ceil(math.log2(max(1, hot * HEADROOM / 2**20))))
    return f"{mib // 1024}GB" if mib >= 1024 else f"{mib}MB"


def _raise_it(hot: int) -> str:
    wanted = suggested_shared_buffers(hot)
    return (
        f"set shared_buffers = '{wanted}' on the server (ALTER SYSTEM SET shared_buffers = "
        f"'{wanted}', then restart PostgreSQL; keep it within about a quarter of the server's "
        "memory, or give it more memory)"
    )


async def check_shared_buffers(conn: asyncpg.Connection, report: Report) -> None:
    """The hot queries' indexes are walked on every call: they should fit in shared_buffers;
    and the server's buffer hit ratio should show it."""
    shared = int(
        await conn.fetchval(
            "SELECT setting::bigint * current_setting('block_size')::bigint"
            " FROM pg_settings WHERE name = 'shared_buffers'"
        )
    )
    used = sorted({index for q in report.queries for index in q.indexes})
    hot = int(
        await conn.fetchval(
            "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c"
            " WHERE c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace",
            used,
        )
    )
    hit, read = await conn.fetchrow(
        "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()"
    ) or (0, 0)
    ratio = hit / (hit + read) if hit + read else None
    report.memory = {"shared_buffers_bytes": shared, "hot_index_bytes": hot, "hit_ratio": ratio}
    if hot > shared:
        report.add(
            "warning",
            "shared_buffers",
            "shared_buffers",
            f"{_mib(shared)} holds less than the indexes the hot queries walk ({_mib(hot)}, "
            f"{len(used)} indexes): their pages come from the OS cache or disk; "
            f"{_raise_it(hot)}",
        )
    if ratio is not None and hit + read >= MIN_BLOCKS_FOR_RATIO and ratio < GOOD_HIT_RATIO:
        report.add(
            "warning",
            "shared_buffers",
            "hit_ratio",
            f"{ratio:.1%} of this database's buffer reads found the page in shared_buffers "
            f"({read:,} reads elsewhere): "
            + (_raise_it(hot) if hot > shared else "the hot set fits: look for cold scans"),
        )
