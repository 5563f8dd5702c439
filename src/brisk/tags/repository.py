"""SQL for tags."""

from __future__ import annotations

from pathlib import Path

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def list_tags(db: Executor, *, limit: int) -> list[str]:
    return [row["name"] for row in await db.fetch(Q["list-tags"], limit)]
