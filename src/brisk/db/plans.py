"""Query plans: EXPLAIN a named query as the app runs it, and read what the plan does."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

import asyncpg

from brisk.db.queries import LIMIT_SLOT, Query

PlanCacheMode = Literal["auto", "force_generic_plan", "force_custom_plan"]
# The page size the app runs most (its default): the `{limit}` slot is a literal in the SQL.
PAGE_SIZE = 20
_STATEMENT = "brisk_explain"


def literal(value: Any) -> str:
    """SQL literal for EXECUTE's arguments (values from the database or tests, never a client)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        kind = "bigint" if all(isinstance(v, int) for v in value) else "text"
        return "ARRAY[" + ", ".join(literal(v) for v in value) + f"]::{kind}[]"
    return "'" + str(value).replace("'", "''") + "'"


async def explain(
    conn: asyncpg.Connection,
    query: Query,
    args: tuple[Any, ...],
    *,
    mode: PlanCacheMode,
    analyze: bool,
    prelude: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """EXPLAIN (FORMAT JSON) the query as a prepared statement under `mode`, like the app's
    connections run it; with `analyze`, ANALYZE and BUFFERS too. Inside a transaction that is
    rolled back: EXPLAIN ANALYZE runs writes for real. `prelude` runs first in that
    transaction: what the app always runs before the query (see doctor/samples.PRELUDES)."""
    if LIMIT_SLOT in query.sql:
        query = query.with_limit(PAGE_SIZE)
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    arguments = ", ".join(literal(a) for a in args)
    execute = f"EXECUTE {_STATEMENT}({arguments})" if args else f"EXECUTE {_STATEMENT}"
    tx = conn.transaction()
    await tx.start()
    try:
        if prelude is not None:
            await prelude(conn)
        await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
        await conn.execute(f"PREPARE {_STATEMENT} AS {query.sql}")
        explained = await conn.fetchval(f"EXPLAIN ({options}) {execute}")
    finally:
        await tx.rollback()
        # PREPARE outlives the rollback; DEALLOCATE ALL would also drop asyncpg's statements.
        if await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = $1", _STATEMENT
        ):
            await conn.execute(f"DEALLOCATE {_STATEMENT}")
    document = json.loads(explained) if isinstance(explained, str) else explained
    return document[0]  # type: ignore[no-any-return]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def seq_scans(explained: dict[str, Any], tables: frozenset[str] | set[str]) -> list[str]:
    """The tables among `tables` that the plan reads with a sequential scan."""
    return sorted(
        n["Relation Name"]
        for n in nodes(explained["Plan"])
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in tables
    )


def indexes_used(explained: dict[str, Any]) -> set[str]:
    return {n["Index Name"] for n in nodes(explained["Plan"]) if "Index Name" in n}


def shared_blocks(explained: dict[str, Any]) -> tuple[int, int]:
    """(hit, read) shared buffers of the whole statement (EXPLAIN ANALYZE, BUFFERS): the plan's
    root, plus each data-modifying CTE that no scan reads. PostgreSQL runs those after the root
    has finished and counts them apart (a counter update beside a delete: 2,660 buffers at M
    that the root's 508 did not include)."""
    root = explained["Plan"]
    read = {n["CTE Name"] for n in nodes(root) if n["Node Type"] == "CTE Scan"}
    counted = [root] + [
        child
        for child in root.get("Plans", ())
        if child.get("Subplan Name", "").startswith("CTE ")
        and child["Subplan Name"].removeprefix("CTE ") not in read
    ]
    return (
        sum(int(n.get("Shared Hit Blocks", 0)) for n in counted),
        sum(int(n.get("Shared Read Blocks", 0)) for n in counted),
    )


def shared_buffers(explained: dict[str, Any]) -> int:
    """Shared buffers (hit + read) the whole statement touched: see shared_blocks."""
    return sum(shared_blocks(explained))
