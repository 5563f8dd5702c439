"""Article request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from brisk.articles.views import ArticleCard, ArticlePublic
from brisk.schemas import (
    MAX_TAGS,
    ArticleBody,
    Description,
    Patch,
    Strict,
    Tag,
    Title,
)


def _unique(tags: list[str] | None) -> list[str] | None:
    return None if tags is None else list(dict.fromkeys(tags))


class ArticleCreate(Strict):
    title: Title
    description: Description
    body: ArticleBody
    tagList: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)

    _dedupe = field_validator("tagList")(_unique)


class ArticleUpdate(Patch):
    title: Title | None = None
    description: Description | None = None
    body: ArticleBody | None = None
    # Not in the spec's UpdateArticle, but every Conduit frontend sends the whole form.
    tagList: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)

    _dedupe = field_validator("tagList")(_unique)


class ArticleCreateRequest(BaseModel):
    article: ArticleCreate


class ArticleUpdateRequest(BaseModel):
    article: ArticleUpdate


class ArticleResponse(BaseModel):
    article: ArticlePublic


class ArticleListResponse(BaseModel):
    articles: list[ArticleCard]
    articlesCount: int
