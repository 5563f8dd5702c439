"""SQL for comments."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def list_comments(
    db: Executor, *, slug: str, viewer_id: int | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await db.fetch(Q["list-comments"], slug, viewer_id, limit, offset)


async def create_comment(
    db: Executor, *, slug: str, author_id: int, body: str
) -> asyncpg.Record | None:
    return await db.fetchrow(Q["create-comment"], slug, author_id, body)


async def get_comment_for_delete(
    db: Executor, *, slug: str, comment_id: int
) -> asyncpg.Record | None:
    return await db.fetchrow(Q["get-comment-for-delete"], slug, comment_id)


async def delete_comment(db: Executor, *, comment_id: int) -> None:
    """Its notification first (releasing the inbox counter), then the comment."""
    await db.execute(Q["delete-comment-notifications"], comment_id)
    await db.execute(Q["delete-comment"], comment_id)
