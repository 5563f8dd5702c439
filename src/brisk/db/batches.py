"""Statements that work through an unbounded set of rows a bounded batch at a time."""

from __future__ import annotations

from typing import Any

from brisk.db.pool import Executor
from brisk.db.queries import Query


async def drain(
    db: Executor, query: Query, key: Any, *cursor: Any, then: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Run `query(key, *cursor, *then)` until it reports no more rows; returns what each batch
    reported (`then`: parameters every batch takes as they are).

    The query does one batch past `cursor` and returns one row: the cursor for the next batch
    (as many columns as `cursor` has), then anything the caller collects; or no row / a NULL
    cursor when nothing was left. Each statement then costs a batch however many rows the key
    has, and resumes where the last stopped instead of re-reading what its own transaction
    already changed."""
    width = len(cursor)
    reported: list[tuple[Any, ...]] = []
    while True:
        row = await db.fetchrow(query, key, *cursor, *then)
        if row is None or row[0] is None:
            return reported
        cursor = tuple(row)[:width]
        reported.append(tuple(row)[width:])
