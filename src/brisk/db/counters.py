"""Stored totals (articles per user and tag, favorites, the global count), rebuilt in bulk."""

from __future__ import annotations

from pathlib import Path

from brisk.db.pool import Executor
from brisk.db.queries import load_queries

Q = load_queries(Path(__file__).with_name("counters.sql"))
# Maintenance, not a request path: the EXPLAIN test and `brisk doctor` skip these.
MAINTENANCE_QUERIES = frozenset(Q)


async def recount(db: Executor) -> dict[str, int]:
    """Make every counter equal to a real count; run after COPY-loading rows, or after a
    rolling upgrade whose old processes wrote without keeping a new counter (`brisk migrate
    --recount`). Returns how many rows each statement corrected (0 everywhere: no drift)."""
    corrected = {}
    for name, query in Q.items():
        status = await db.execute(query)  # "UPDATE 3", "INSERT 0 3"
        corrected[name] = int(status.rsplit(" ", 1)[-1]) if status else 0
    return corrected
