"""Listing, adding and deleting comments; only their author may delete one."""

from __future__ import annotations

from typing import Any

from brisk.api.responses import iso
from brisk.comments import repository as repo
from brisk.db import Database
from brisk.errors import ForbiddenError, NotFoundError
from brisk.notifications import repository as notifications


def comment_public(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "body": row["body"],
        "author": {
            "username": row["author_username"],
            "bio": row["author_bio"],
            "image": row["author_image"],
            "following": row["author_following"],
        },
    }


class CommentService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_comments(
        self, *, slug: str, viewer_id: int | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        rows = await repo.list_comments(
            self.db, slug=slug, viewer_id=viewer_id, limit=limit, offset=offset
        )
        if not rows:
            raise NotFoundError("article")
        return [comment_public(r) for r in rows if r["id"] is not None]

    async def create_comment(self, *, slug: str, author_id: int, body: str) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            row = await repo.create_comment(tx, slug=slug, author_id=author_id, body=body)
            if row is None:
                raise NotFoundError("article")
            await notifications.create_comment_notification(tx, comment_id=row["id"])
        return comment_public(row)

    async def delete_comment(self, *, slug: str, comment_id: int, viewer_id: int) -> None:
        async with self.db.transaction() as tx:
            row = await repo.get_comment_for_delete(tx, slug=slug, comment_id=comment_id)
            if row is None:
                raise NotFoundError("comment")
            if row["author_id"] != viewer_id:
                raise ForbiddenError("delete this comment")
            await repo.delete_comment(tx, comment_id=comment_id)
