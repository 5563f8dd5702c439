"""SQL for profiles and follows."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def get_profile(
    db: Executor, *, username: str, viewer_id: int | None
) -> asyncpg.Record | None:
    return await db.fetchrow(Q["get-profile-by-username"], username, viewer_id)


async def create_follow(db: Executor, *, follower_id: int, followee_id: int) -> bool:
    """True when the follow is new (a repeated follow changes nothing)."""
    return bool(await db.fetchval(Q["create-follow"], follower_id, followee_id))


async def delete_follow(db: Executor, *, follower_id: int, followee_id: int) -> bool:
    return bool(await db.fetchval(Q["delete-follow"], follower_id, followee_id))
