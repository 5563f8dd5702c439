"""Stored totals (articles per user and tag, favorites, the global count), rebuilt in bulk."""

from __future__ import annotations

from pathlib import Path

from brisk.db.pool import Executor
from brisk.db.queries import load_queries

Q = load_queries(Path(__file__).with_name("counters.sql"))
# Maintenance, not a request path: the EXPLAIN test and `brisk doctor` skip these.
MAINTENANCE_QUERIES = frozenset(Q)


async def recount(db: Executor) -> None:
    """Make every counter equal to a real count; run after COPY-loading rows."""
    for query in Q.values():
        await db.execute(query)
