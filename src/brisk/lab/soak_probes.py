"""What else happened in each soak window, beside its latencies: the server's GC pauses, cache
misses, queries, event-loop lag and what its L1 holds (from its /metrics), PostgreSQL's
checkpoints, autovacuum and reads that missed its shared buffers, and the machine's load -- so a
window whose P99 jumps can be told apart from the report alone (a full collection, a miss wave,
a blocked loop, a checkpoint, a hot set that left shared_buffers, or other work on a shared
machine), and RSS growth from the cache filling."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

# Counters read from the server's /metrics, summed over their other labels.
_GC = "brisk_gc_pause_seconds"
_PAUSE_OVER = "0.05"  # a bucket bound of brisk_gc_pause_seconds: pauses longer than 50 ms
_LAG = "brisk_event_loop_lag_seconds"
# PostgreSQL's side; blocks_read counts what the soak's database read from outside
# shared_buffers (the OS cache or the disk): when the hot set no longer fits there, queries
# slow down with no more of them and no loop lag.
_PG = """
SELECT checkpoints_timed + checkpoints_req AS checkpoints,
       checkpoint_write_time + checkpoint_sync_time AS checkpoint_ms,
       buffers_backend_fsync AS backend_fsyncs,
       (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)
          FROM pg_stat_user_tables) AS autovacuums,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'autovacuum worker') AS autovacuum_workers,
       (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()) AS blocks_read
  FROM pg_stat_bgwriter
"""
# PostgreSQL 17 moved the checkpointer's counters out of pg_stat_bgwriter (and backend fsyncs
# into pg_stat_io, not read here).
_PG17 = """
SELECT num_timed + num_requested AS checkpoints,
       write_time + sync_time AS checkpoint_ms,
       0 AS backend_fsyncs,
       (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)
          FROM pg_stat_user_tables) AS autovacuums,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'autovacuum worker') AS autovacuum_workers,
       (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()) AS blocks_read
  FROM pg_stat_checkpointer
"""
_GAUGES = frozenset({"autovacuum_workers", "load_1m", "l1_mb", "dead_rows"})
# Histograms read per label, so a window can say which routes and queries took longer.
_BY_NAME = {
    "http_server_request_duration_seconds": "route:",
    "brisk_db_query_duration_seconds": "query:",
}
_BY_NAME_FAMILIES = tuple(_BY_NAME)
# Routes, queries and miss families a window lists, the busiest first.
_TOP = 14
# The window's dead rows, summed over the soak database's tables: with autovacuum off (or
# behind), the mix's deletes and updates leave them for every scan to step over.
_DEAD_ROWS = "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"


def server_counters(metrics_text: str) -> dict[str, float]:
    """The counters a window is judged by, from one scrape."""
    found: dict[str, float] = {}

    def add(key: str, value: float) -> None:
        found[key] = found.get(key, 0.0) + value

    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == f"{_GC}_count":
                add(f"gc{labels['generation']}_pauses", sample.value)
                add("gc_pauses_over_50ms", sample.value)
            elif name == f"{_GC}_bucket" and labels.get("le") == _PAUSE_OVER:
                add("gc_pauses_over_50ms", -sample.value)
            elif name == f"{_GC}_sum":
                add("gc_pause_ms", 1000 * sample.value)
            elif name == f"{_LAG}_sum":
                add("loop_lag_ms", 1000 * sample.value)
            elif name == "brisk_cache_requests_total" and labels["result"] == "miss":
                add(f"{labels['layer']}_misses", sample.value)
                add(f"miss:{labels['layer']} {labels['family']}|count", sample.value)
            elif name == "brisk_db_query_duration_seconds_count":
                add("queries", sample.value)
            elif name == "brisk_db_query_duration_seconds_sum":
                add("query_ms", 1000 * sample.value)
            elif name == "brisk_db_pool_acquire_wait_seconds_sum":
                add("pool_wait_ms", 1000 * sample.value)
            elif name == "brisk_cache_l1_bytes":
                add("l1_mb", sample.value / 2**20)
            # Per route and per query: which work got slower.
            if name.startswith(_BY_NAME_FAMILIES) and name.endswith(("_sum", "_count")):
                family_name, _, part = name.rpartition("_")
                key = f"{_BY_NAME[family_name]}{labels.get('http_route') or labels.get('query')}"
                add(f"{key}|{part}", sample.value)
    return found


def _scrape(url: str) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:  # noqa: S310
            return server_counters(answer.read().decode())
    except OSError:
        return {}  # a probe must never end the soak; the window then shows no server facts


async def _database(url: str) -> dict[str, float]:
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return {}
    try:
        row = await conn.fetchrow(_PG if conn.get_server_version().major < 17 else _PG17)
        dead = await conn.fetchval(_DEAD_ROWS)
    except asyncpg.PostgresError:
        return {}  # a probe must never end the soak (a server whose views differ again)
    finally:
        await conn.close()
    return {k: float(v) for k, v in dict(row or {}).items()} | {"dead_rows": float(dead or 0)}


def _cpu_ms(stat: str) -> float:
    """utime + stime of a /proc/<pid>/stat line, in ms (the name may hold spaces: split after
    its closing parenthesis)."""
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> dict[str, float]:
    """CPU the server process used, and every local PostgreSQL process together (on an
    otherwise idle machine, the soak's backends): per request over a window, which side's
    work grew when the same requests got slower."""
    found: dict[str, float] = {}
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        if int(entry.name) == pid:
            found["server_cpu_ms"] = _cpu_ms(stat)
        elif stat.partition("(")[2].startswith("postgres)"):
            postgres += _cpu_ms(stat)
    return found | {"postgres_cpu_ms": postgres}


def idle_ms() -> dict[str, float]:
    """Each core's idle time so far (/proc/stat, idle + iowait), in ms: whether the server's
    core had any slack in a window while the other one did."""
    found: dict[str, float] = {}
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu" and len(fields) >= 5:
            found[f"idle_ms_{name}"] = (int(fields[3]) + int(fields[4])) * tick_ms
    return found


def runqueue_ms(pid: int) -> dict[str, float]:
    """How long the process's main thread has waited, runnable, for a CPU (Linux schedstat):
    time a busy machine took from it, which its own loop-lag figure cannot tell apart."""
    try:
        waited_ns = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return {}
    return {"runqueue_ms": waited_ns / 1e6}


def snapshot(server_url: str, database_url: str | None, pid: int | None = None) -> dict[str, float]:
    found = _scrape(server_url) | ((runqueue_ms(pid) | cpu_ms(pid)) if pid else {})
    if database_url:
        found |= asyncio.run(_database(database_url))
    return found | idle_ms() | {"load_1m": os.getloadavg()[0]}


def window_facts(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Counters as the window's increase; gauges (load, autovacuum workers, L1, dead rows) as
    at its end; per route and per query, each one's count and mean milliseconds in the window
    (`ms_by_route`, `ms_by_query`: the busiest first); cache misses by layer and family
    (`misses_by_family`: whether a miss wave is one family's)."""
    facts: dict[str, Any] = {}
    for key, value in sorted(after.items()):
        if "|" in key:
            continue
        if key in _GAUGES:
            facts[key] = round(value, 2)
        elif key in before:
            facts[key] = round(value - before[key], 1)
    for prefix, field in (("route:", "ms_by_route"), ("query:", "ms_by_query")):
        facts[field] = _means(before, after, prefix)
    misses = {
        key[len("miss:") : -len("|count")]: int(value - before.get(key, 0.0))
        for key, value in after.items()
        if key.startswith("miss:")
    }
    facts["misses_by_family"] = dict(sorted(misses.items(), key=lambda kv: -kv[1])[:_TOP])
    return facts


def _means(before: dict[str, float], after: dict[str, float], prefix: str) -> dict[str, Any]:
    """{name: [count, mean ms]} over the window, by total time, the first _TOP of them."""
    rows = []
    for key, count in after.items():
        if key.startswith(prefix) and key.endswith("|count"):
            name = key[len(prefix) : -len("|count")]
            n = count - before.get(key, 0.0)
            total = after.get(f"{prefix}{name}|sum", 0.0) - before.get(f"{prefix}{name}|sum", 0.0)
            if n > 0:
                rows.append((total, name, n))
    rows.sort(reverse=True)
    return {name: [int(n), round(1000 * total / n, 3)] for total, name, n in rows[:_TOP]}
