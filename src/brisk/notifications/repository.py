"""SQL for notifications: the recipient's lists and unread count, marking read, and the
writes that other domains' services call inside their own transactions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import asyncpg

from brisk.db import Executor, drain, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def list_notifications(
    db: Executor, *, recipient_id: int, limit: int, before: int | None, unread: bool
) -> list[asyncpg.Record]:
    # A named query per filter, not `$n IS NULL OR ...`, so each generic plan stays on its index.
    name = "list-unread-notifications" if unread else "list-notifications"
    if before is None:
        return await db.fetch(Q[name].with_limit(limit), recipient_id)
    return await db.fetch(Q[f"{name}-before"].with_limit(limit), recipient_id, before)


async def count_unread(db: Executor, *, recipient_id: int) -> int:
    return int(await db.fetchval(Q["count-unread-notifications"], recipient_id))


async def mark_read(db: Executor, *, recipient_id: int, ids: list[int]) -> None:
    await db.execute(Q["mark-notifications-read"], recipient_id, ids)


async def mark_read_up_to(db: Executor, *, recipient_id: int, up_to: int) -> None:
    # In batches, newest first (see queries.sql): each statement costs the same however long
    # the unread backlog below `up_to`; the counter drops once, by their sum.
    marked = await drain(db, Q["mark-notifications-read-up-to"], recipient_id, up_to)
    await release_unread(db, Counter({recipient_id: sum(n for (n,) in marked)}))


async def release_unread(db: Executor, unread: Counter[int]) -> None:
    """Drop each recipient's inbox counter by the unread notifications marked or removed."""
    if any(unread.values()):
        recipients = list(unread)
        counts = [unread[r] for r in recipients]
        await db.execute(Q["release-unread-notifications"], recipients, counts)


# Each create-* returns the recipient's id when a notification was written, else None: the
# caller's cache invalidation needs to know whose inbox changed.


async def create_follow_notification(
    db: Executor, *, actor_id: int, recipient_id: int
) -> int | None:
    return await db.fetchval(Q["create-follow-notification"], actor_id, recipient_id)  # type: ignore[no-any-return]


async def create_favorite_notification(
    db: Executor, *, actor_id: int, article_id: int
) -> int | None:
    return await db.fetchval(Q["create-favorite-notification"], actor_id, article_id)  # type: ignore[no-any-return]


async def create_comment_notification(db: Executor, *, comment_id: int) -> int | None:
    return await db.fetchval(Q["create-comment-notification"], comment_id)  # type: ignore[no-any-return]
