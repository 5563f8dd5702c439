"""A user's own notifications: the list, the unread count, marking read."""

from __future__ import annotations

import orjson

from brisk.cache import Cache, Key
from brisk.db import Database
from brisk.notifications import repository as repo
from brisk.notifications.invalidation import inbox_stale
from brisk.notifications.views import notification_public


def _unread(count: int) -> bytes:
    return orjson.dumps({"unreadCount": count})


class NotificationService:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    async def list_notifications(
        self, *, viewer_id: int, limit: int, before: int | None, unread: bool
    ) -> bytes:
        # One row more than asked says whether an older page exists, so the last page has no
        # cursor instead of a cursor to an empty page.
        rows = await repo.list_notifications(
            self.db, recipient_id=viewer_id, limit=limit + 1, before=before, unread=unread
        )
        page = [notification_public(r) for r in rows[:limit]]
        next_cursor = page[-1]["id"] if len(rows) > limit else None
        return orjson.dumps({"notifications": page, "nextCursor": next_cursor})

    async def count_unread(self, *, viewer_id: int) -> bytes:
        return _unread(await self.unread(viewer_id))

    async def unread(self, viewer_id: int) -> int:
        """The viewer's unread count, cached (the dashboard shows it too)."""

        async def load() -> bytes:
            return b"%d" % await repo.count_unread(self.db, recipient_id=viewer_id)

        return int(await self.cache.get_or_load(self.cache.keys.unread(viewer_id), load))

    def peek_unread(self, viewer_id: int) -> int | None:
        value = self.cache.peek(self.cache.keys.unread(viewer_id))
        return None if value is None else int(value)

    async def inbox(self, key: Key, *, viewer_id: int, limit: int) -> bytes:
        """The viewer's newest notifications as a JSON list, cached under `key` (its tokens
        change with a notification for them, their follows and any embedded profile or title)."""

        async def load() -> bytes:
            rows = await repo.list_notifications(
                self.db, recipient_id=viewer_id, limit=limit, before=None, unread=False
            )
            return orjson.dumps([notification_public(r) for r in rows])

        return await self.cache.get_or_load(key, load)

    async def mark_read(self, *, viewer_id: int, ids: list[int] | None, up_to: int | None) -> bytes:
        """Mark the viewer's own notifications read; answers their unread count afterwards."""
        async with self.db.transaction() as tx:
            if ids is not None:
                await repo.mark_read(tx, recipient_id=viewer_id, ids=ids)
            if up_to is not None:
                await repo.mark_read_up_to(tx, recipient_id=viewer_id, up_to=up_to)
            # A later statement of the transaction sees the update just made.
            unread = await repo.count_unread(tx, recipient_id=viewer_id)
            stale = await self.cache.stale(tx, *inbox_stale(self.cache.keys, viewer_id))
        await self.cache.invalidate(stale)
        return _unread(unread)
