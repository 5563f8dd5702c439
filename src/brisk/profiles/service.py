"""Reading profiles, following and unfollowing."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson

from brisk import overlay
from brisk.cache import Cache, Key, viewer
from brisk.db import Database
from brisk.errors import InvalidInputError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.notifications.invalidation import inbox_stale
from brisk.profiles import repository as repo
from brisk.profiles.views import profile_public


class ProfileService:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    def shared_key(self, username: str) -> Key:
        """Where the anonymous body of GET /profiles/{username} is cached (the fast path too)."""
        return self.cache.keys.profile(username)

    async def get_profile(self, *, username: str, viewer_id: int | None) -> bytes:
        return await overlay.shared_then_viewer(
            fetch=overlay.cached_under(self.cache, self.shared_key(username)),
            read=lambda viewer: self._read_public(username, viewer),
            viewer_id=viewer_id,
            overlay=partial(overlay.overlay_profile, self.db),
        )

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
            # The follower's feed (in their dashboard) changed; the profile itself did not.
            inbox_keys, inbox_versions = inbox_stale(self.cache.keys, notified)
            stale = await self.cache.stale(tx, inbox_keys, [viewer(viewer_id), *inbox_versions])
        await self.cache.invalidate(stale)
        return orjson.dumps({"profile": profile_public(row, following=True)})

    async def unfollow(self, *, username: str, viewer_id: int) -> bytes:
        async with self.db.transaction() as tx:
            row = await repo.get_profile(tx, username=username, viewer_id=viewer_id)
            if row is None:
                raise NotFoundError("profile")
            await repo.delete_follow(tx, follower_id=viewer_id, followee_id=row["id"])
            stale = await self.cache.stale(tx, versions=[viewer(viewer_id)])
        await self.cache.invalidate(stale)
        return orjson.dumps({"profile": profile_public(row, following=False)})
