"""A comment on the wire, defined once (tests/unit/test_views.py holds the builder to it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from brisk.profiles.views import AUTHOR, ProfilePublic, profile_public


class CommentPublic(BaseModel):
    id: int
    createdAt: str
    updatedAt: str
    body: str
    author: ProfilePublic


def comment_public(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "createdAt": row["created_at"],  # timestamps leave SQL formatted, by iso_utc()
        "updatedAt": row["updated_at"],
        "body": row["body"],
        "author": profile_public(row, AUTHOR),
    }
