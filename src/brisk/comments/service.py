"""Listing, adding and deleting comments; only their author may delete one."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson

from brisk import overlay
from brisk.cache import Cache, Key, Stale
from brisk.comments import repository as repo
from brisk.comments.views import comment_public
from brisk.db import Database, Executor
from brisk.errors import ForbiddenError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.notifications.invalidation import inbox_stale
from brisk.overlay import Shape, ViewerFlags

# The page GET /articles/:slug/comments gives without parameters; the one that is cached.
DEFAULT_PAGE = 100
_DEFAULT = {"limit": DEFAULT_PAGE, "offset": 0}


class CommentService:
    def __init__(self, db: Database, cache: Cache, flags: ViewerFlags) -> None:
        self.db = db
        self.cache = cache
        self.flags = flags

    async def list_comments(
        self, *, slug: str, viewer_id: int | None, limit: int, offset: int
    ) -> bytes:
        # Only the default page is cached: the one every article page asks for.
        fetch = None
        if (limit, offset) == (DEFAULT_PAGE, 0):
            fetch = overlay.cached_under(self.cache, self.shared_key(slug))
        return await overlay.shared_then_viewer(
            fetch=fetch,
            load=lambda: self._load(slug),
            read=lambda viewer: self._list(slug, viewer, limit, offset),
            viewer_id=viewer_id,
            flags=self.flags,
            shape=Shape.USERS,
        )

    def shared_key(self, slug: str) -> Key:
        """Where the default page of an article's comments is cached (the fast path too)."""
        return self.cache.keys.comments(slug)

    def peek_comments(self, slug: str, viewer_id: int | None) -> bytes | None:
        key = self.shared_key(slug)
        return overlay.peek_document(self.cache, self.flags, key, viewer_id, Shape.USERS)

    async def _load(self, slug: str) -> bytes:
        rows = await self._rows(slug, None, DEFAULT_PAGE, 0)
        body = orjson.dumps({"comments": [comment_public(r) for r in rows]})
        return overlay.pack([r["author_id"] for r in rows], body)

    async def _list(
        self, slug: str, viewer_id: int | None, limit: int, offset: int
    ) -> dict[str, Any]:
        rows = await self._rows(slug, viewer_id, limit, offset)
        return {"comments": [comment_public(r) for r in rows]}

    async def _rows(self, slug: str, viewer_id: int | None, limit: int, offset: int) -> list[Any]:
        rows = await repo.list_comments(
            self.db, slug=slug, viewer_id=viewer_id, limit=limit, offset=offset
        )
        if not rows:
            raise NotFoundError("article")
        return [r for r in rows if r["id"] is not None]

    async def create_comment(self, *, slug: str, author_id: int, body: str) -> bytes:
        async with self.db.transaction() as tx:
            row = await repo.create_comment(tx, slug=slug, author_id=author_id, body=body)
            if row is None:
                raise NotFoundError("article")
            notified = await notifications.create_comment_notification(tx, comment_id=row["id"])
            stale = await self._stale(tx, slug, notified)
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self.list_comments, slug=slug, viewer_id=None, **_DEFAULT))
        return orjson.dumps({"comment": comment_public(row)})

    async def delete_comment(self, *, slug: str, comment_id: int, viewer_id: int) -> None:
        async with self.db.transaction() as tx:
            row = await repo.get_comment_for_delete(tx, slug=slug, comment_id=comment_id)
            if row is None:
                raise NotFoundError("comment")
            if row["author_id"] != viewer_id:
                raise ForbiddenError("delete this comment")
            await repo.delete_comment(tx, comment_id=comment_id)
            # The cascade removed the comment's notification, if its article's author had one.
            notified = row["article_author_id"] if row["article_author_id"] != viewer_id else None
            stale = await self._stale(tx, slug, notified)
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self.list_comments, slug=slug, viewer_id=None, **_DEFAULT))

    async def _stale(self, tx: Executor, slug: str, notified: int | None) -> Stale:
        """The article's comment list, and the inbox of whoever was notified (if anyone)."""
        inbox_keys, inbox_versions = inbox_stale(self.cache.keys, notified)
        return await self.cache.stale(tx, [self.shared_key(slug), *inbox_keys], inbox_versions)
