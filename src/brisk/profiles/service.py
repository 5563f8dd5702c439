"""Reading profiles, following and unfollowing."""

from __future__ import annotations

from typing import Any

from brisk.db import Database
from brisk.errors import InvalidInputError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.profiles import repository as repo


def profile_public(row: Any, *, following: bool | None = None) -> dict[str, Any]:
    return {
        "username": row["username"],
        "bio": row["bio"],
        "image": row["image"],
        "following": row["following"] if following is None else following,
    }


class ProfileService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_profile(self, *, username: str, viewer_id: int | None) -> dict[str, Any]:
        row = await repo.get_profile(self.db, username=username, viewer_id=viewer_id)
        if row is None:
            raise NotFoundError("profile")
        return profile_public(row)

    async def follow(self, *, username: str, viewer_id: int) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            row = await repo.get_profile(tx, username=username, viewer_id=viewer_id)
            if row is None:
                raise NotFoundError("profile")
            if row["id"] == viewer_id:
                raise InvalidInputError("you cannot follow yourself")
            if await repo.create_follow(tx, follower_id=viewer_id, followee_id=row["id"]):
                await notifications.create_follow_notification(
                    tx, actor_id=viewer_id, recipient_id=row["id"]
                )
        return profile_public(row, following=True)

    async def unfollow(self, *, username: str, viewer_id: int) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            row = await repo.get_profile(tx, username=username, viewer_id=viewer_id)
            if row is None:
                raise NotFoundError("profile")
            await repo.delete_follow(tx, follower_id=viewer_id, followee_id=row["id"])
        return profile_public(row, following=False)
