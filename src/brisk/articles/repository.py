"""SQL for articles, tags links and favorites."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from brisk.db import Executor, Query, drain, load_queries
from brisk.errors import AlreadyExistsError
from brisk.notifications.repository import release_unread

Q = load_queries(Path(__file__).with_name("queries.sql"))
# Before every key: where the batched deletes of an article's rows start.
_FIRST_ID = 0
_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """The optional filters of GET /articles; each combination has queries an index drives."""

    author: str | None = None
    tag: str | None = None
    favorited_by: str | None = None

    def queries(self) -> tuple[Query, Query, tuple[str | None, ...]]:
        """(page query, count query, filter arguments) for this combination of filters."""
        author, tag, favorited_by = self.author, self.tag, self.favorited_by
        args: tuple[str | None, ...]
        if author is not None and favorited_by is not None:
            name, args = "by-author-filtered", (author, tag, favorited_by)
        elif author is not None and tag is not None:
            name, args = "by-author-tagged", (author, tag)
        elif tag is not None and favorited_by is not None:
            name, args = "favorited-by-tagged", (favorited_by, tag)
        elif author is not None:
            name, args = "by-author", (author,)
        elif tag is not None:
            name, args = "by-tag", (tag,)
        elif favorited_by is not None:
            name, args = "favorited-by", (favorited_by,)
        else:
            return Q["list-articles"], Q["count-articles"], ()
        return Q[f"list-articles-{name}"], Q[f"count-articles-{name}"], args


async def list_articles(
    db: Executor, *, filters: ArticleFilter, viewer_id: int | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    page_query, _, args = filters.queries()
    return await db.fetch(page_query.with_limit(limit), viewer_id, offset, *args)


async def count_articles(db: Executor, *, filters: ArticleFilter) -> int:
    _, count_query, args = filters.queries()
    return int(await db.fetchval(count_query, *args))


async def list_articles_by_author_id(
    db: Executor, *, author_id: int, viewer_id: int | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    query = Q["list-articles-by-author-id"].with_limit(limit)
    return await db.fetch(query, viewer_id, offset, author_id)


async def list_feed(
    db: Executor, *, viewer_id: int, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await db.fetch(Q["list-feed"].with_limit(limit), viewer_id, offset)


async def count_feed(db: Executor, *, viewer_id: int) -> int:
    return int(await db.fetchval(Q["count-feed"], viewer_id))


async def get_article_cards(db: Executor, *, ids: list[int]) -> list[asyncpg.Record]:
    return await db.fetch(Q["get-article-cards"], None, ids)


async def get_article(db: Executor, *, slug: str, viewer_id: int | None) -> asyncpg.Record | None:
    return await db.fetchrow(Q["get-article-by-slug"], viewer_id, slug)


async def get_article_for_update(db: Executor, *, slug: str) -> asyncpg.Record | None:
    return await db.fetchrow(Q["get-article-for-update"], slug)


async def get_article_id(db: Executor, *, slug: str) -> asyncpg.Record | None:
    return await db.fetchrow(Q["get-article-id-by-slug"], slug)


def tag_list(tags: list[str]) -> list[str]:
    """The stored order: code points, the same as PostgreSQL's "C" collation used to recount."""
    return sorted(set(tags))


async def create_article(
    db: Executor,
    *,
    slug: str,
    author_id: int,
    title: str,
    description: str,
    body: str,
    tags: list[str],
) -> int | None:
    """The new article's id, or None when `slug` is taken (nothing was written)."""
    article_id = await db.fetchval(
        Q["create-article"], slug, author_id, title, description, body, tag_list(tags)
    )
    if article_id is None:
        return None
    await _move_feed_counts(db, author_id=author_id, by=1)
    return int(article_id)


async def _move_feed_counts(db: Executor, *, author_id: int, by: int) -> None:
    """The author's followers' feed totals, a batch of followers a statement (queries.sql);
    after the statement that moved the author's own count, in its transaction."""
    await drain(db, Q["move-feed-counts"], author_id, _FIRST_ID, then=(by,))


async def update_article(
    db: Executor,
    *,
    article_id: int,
    slug: str | None,
    title: str | None,
    description: str | None,
    body: str | None,
    tags: list[str] | None,
) -> None:
    stored_tags = None if tags is None else tag_list(tags)
    try:
        await db.execute(
            Q["update-article"], article_id, slug, title, description, body, stored_tags
        )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExistsError("slug") from exc


async def release_article(db: Executor, *, article_id: int) -> None:
    """Remove what hangs off an article and release the counters it holds, leaving its row.

    Its favorites, notifications and comments go in bounded batches (see queries.sql), so
    each statement costs the same for an article with 50,000 favorites as for one with none;
    the request's total still grows with them."""
    await _unlink_tags(db, article_id=article_id)
    await drain(db, Q["delete-article-favorites"], article_id, _FIRST_ID)
    removed = await drain(db, Q["delete-article-notifications"], article_id, _FIRST_ID)
    await release_unread(db, Counter(r for (unread,) in removed for r in unread or ()))
    await drain(db, Q["delete-article-comments"], article_id, _EARLIEST, _FIRST_ID)


async def delete_article(db: Executor, *, article_id: int) -> None:
    """Release what the article holds, then delete it (one transaction; nothing is left for
    its row to cascade to); then it leaves its author's followers' feed totals."""
    await release_article(db, article_id=article_id)
    author_id = await db.fetchval(Q["delete-article"], article_id)
    if author_id is not None:
        await _move_feed_counts(db, author_id=author_id, by=-1)


async def _unlink_tags(db: Executor, *, article_id: int) -> None:
    """The article's tag links, and its favorites' links to those tags (a batch of favoriters
    a statement: migration 0018)."""
    await drain(db, Q["unlink-favorite-tags"], article_id, _FIRST_ID)
    await db.execute(Q["unlink-article-tags"], article_id)


async def set_tags(db: Executor, *, article_id: int, tags: list[str], replace: bool) -> None:
    """Link the article to `tags` (after unlinking its current ones when `replace`); its
    favorites follow, a batch of favoriters a statement (a new article has none)."""
    if replace:
        await _unlink_tags(db, article_id=article_id)
    if tags:
        await db.execute(Q["create-tags"], tags)
        await db.execute(Q["link-article-tags"], article_id, tags)
        if replace:
            await drain(db, Q["link-favorite-tags"], article_id, _FIRST_ID)


async def create_favorite(db: Executor, *, user_id: int, article_id: int) -> bool:
    """True when the favorite is new (a repeated favorite changes nothing)."""
    return await db.fetchval(Q["create-favorite"], user_id, article_id) is not None


async def delete_favorite(db: Executor, *, user_id: int, article_id: int) -> None:
    await db.execute(Q["delete-favorite"], user_id, article_id)
