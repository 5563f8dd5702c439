"""Reading profiles, following and unfollowing."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson

from brisk import overlay
from brisk.cache import Cache, Key, follows, viewer
from brisk.db import Database
from brisk.errors import InvalidInputError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.notifications.invalidation import inbox_stale
from brisk.overlay import Shape, ViewerFlags
from brisk.profiles import repository as repo
from brisk.profiles.views import profile_public


class ProfileService:
    def __init__(self, db: Database, cache: Cache, flags: ViewerFlags) -> None:
        self.db = db
        self.cache = cache
        self.flags = flags

    def shared_key(self, username: str) -> Key:
        """Where the anonymous body of GET /profiles/{username} is cached (the fast path too)."""
        return self.cache.keys.profile(username)

    async def get_profile(self, *, username: str, viewer_id: int | None) -> bytes:
        return await overlay.shared_then_viewer(
            fetch=overlay.cached_under(self.cache, self.shared_key(username)),
            load=lambda: self._load(username),
            read=lambda viewer: self._read_public(username, viewer),
            viewer_id=viewer_id,
            flags=self.flags,
            shape=Shape.USERS,
        )

    def peek_profile(self, username: str, viewer_id: int | None) -> bytes | None:
        key = self.shared_key(username)
        return overlay.peek_document(self.cache, self.flags, key, viewer_id, Shape.USERS)

    async def _load(self, username: str) -> bytes:
        row = await repo.get_profile(self.db, username=username, viewer_id=None)
        if row is None:
            raise NotFoundError("profile")
        return overlay.pack((row["id"],), orjson.dumps({"profile": profile_public(row)}))

    async def _read_public(self, username: str, viewer_id: int | None) -> dict[str, Any]:
        return {"profile": await self._read(username, viewer_id)}

    async def _read(self, username: str, viewer_id: int | None) -> dict[str, Any]:
        row = await repo.get_profile(self.db, username=username, viewer_id=viewer_id)
        if row is None:
            raise NotFoundError("profile")
        return profile_public(row)

    async def follow(self, *, username: str, viewer_id: int) -> bytes:
        async with self.db.transaction() as tx:
            row = await repo.get_profile(tx, username=username, viewer_id=viewer_id)
            if row is None:
                raise NotFoundError("profile")
            if row["id"] == viewer_id:
                raise InvalidInputError("you cannot follow yourself")
            notified = None
            if await repo.create_follow(tx, follower_id=viewer_id, followee_id=row["id"]):
                notified = await notifications.create_follow_notification(
                    tx, actor_id=viewer_id, recipient_id=row["id"]
                )
            # The follower's flags, feed and inbox (actors' flags) changed; the profile did not.
            inbox_keys, inbox_versions = inbox_stale(self.cache.keys, notified)
            stale = await self.cache.stale(
                tx,
                [self.cache.keys.following(viewer_id), *inbox_keys],
                [viewer(viewer_id), follows(viewer_id), *inbox_versions],
            )
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self.flags.following, viewer_id))
        return orjson.dumps({"profile": profile_public(row, following=True)})

    async def unfollow(self, *, username: str, viewer_id: int) -> bytes:
        async with self.db.transaction() as tx:
            row = await repo.get_profile(tx, username=username, viewer_id=viewer_id)
            if row is None:
                raise NotFoundError("profile")
            await repo.delete_follow(tx, follower_id=viewer_id, followee_id=row["id"])
            stale = await self.cache.stale(
                tx, [self.cache.keys.following(viewer_id)], [viewer(viewer_id), follows(viewer_id)]
            )
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self.flags.following, viewer_id))
        return orjson.dumps({"profile": profile_public(row, following=False)})
