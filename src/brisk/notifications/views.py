"""A notification on the wire, defined once. tests/unit/test_views.py holds the builder, and
the dashboard's SQL, to this model field by field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from brisk.profiles.views import ACTOR, ProfilePublic, profile_public

Kind = Literal["follow", "favorite", "comment"]


class NotificationArticle(BaseModel):
    slug: str
    title: str


class NotificationPublic(BaseModel):
    id: str = Field(description="opaque; also the cursor for `before` and `upTo`")
    kind: Kind
    actor: ProfilePublic
    article: NotificationArticle | None = Field(description="null for a follow")
    createdAt: str
    read: bool


def notification_public(row: Any) -> dict[str, Any]:
    article = None
    if row["article_slug"] is not None:
        article = {"slug": row["article_slug"], "title": row["article_title"]}
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "actor": profile_public(row, ACTOR),
        "article": article,
        "createdAt": row["created_at"],  # timestamps leave SQL formatted, by iso_utc()
        "read": row["read"],
    }
