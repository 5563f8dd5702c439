"""SQL for the viewer's own flags over a cached body."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def viewer_flags(
    db: Executor, *, viewer_id: int, slugs: Iterable[str], usernames: Iterable[str]
) -> tuple[set[str], set[str]]:
    """(favorited slugs, followed usernames) among those given."""
    row = await db.fetchrow(Q["get-viewer-flags"], viewer_id, list(slugs), list(usernames))
    assert row is not None  # an aggregate row always comes back
    return set(row["favorited"]), set(row["following"])
