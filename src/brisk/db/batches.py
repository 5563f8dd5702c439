"""Statements that work through an unbounded set of rows a bounded batch at a time."""

from __future__ import annotations

from typing import Any

from brisk.db.pool import Executor
from brisk.db.queries import Query


async def drain(db: Executor, query: Query, key: Any, *cursor: Any) -> int:
    """Run `query(key, *cursor)` until it reports no more rows; returns how many batches did work.

    The query does one batch past `cursor` and returns the cursor for the next one (one row of
    one or more columns), or a NULL / no row when nothing was left. Each statement then costs
    a batch however many rows the key has, and resumes where the last stopped instead of
    re-reading what its own transaction already changed."""
    batches = 0
    while True:
        row = await db.fetchrow(query, key, *cursor)
        if row is None or row[0] is None:
            return batches
        batches += 1
        cursor = tuple(row)
