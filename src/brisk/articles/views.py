"""An article on the wire, defined once: the card lists show and the article with its body.
tests/unit/test_views.py holds the builders, and the dashboard's SQL, to these models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from brisk.profiles.views import AUTHOR, ProfilePublic, profile_public


class ArticleCard(BaseModel):
    slug: str
    title: str
    description: str
    tagList: list[str]
    createdAt: str
    updatedAt: str
    favorited: bool
    favoritesCount: int
    author: ProfilePublic


class ArticlePublic(ArticleCard):
    body: str


def article_card(row: Any) -> dict[str, Any]:
    return {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "tagList": row["tag_list"],
        "createdAt": row["created_at"],  # timestamps leave SQL formatted, by iso_utc()
        "updatedAt": row["updated_at"],
        "favorited": row["favorited"],
        "favoritesCount": row["favorites_count"],
        "author": profile_public(row, AUTHOR),
    }


def article_public(row: Any) -> dict[str, Any]:
    return {**article_card(row), "body": row["body"]}
