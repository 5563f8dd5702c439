"""Article lists, reads and writes; ownership checks and slugs live here."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

import orjson
from slugify import slugify

from brisk import overlay
from brisk.articles import repository as repo
from brisk.articles.repository import ArticleFilter
from brisk.articles.schemas import ArticleCreate, ArticleUpdate
from brisk.articles.views import article_card, article_public
from brisk.cache import ARTICLES, PROFILES, Cache, Key, viewer
from brisk.db import Database, Executor
from brisk.errors import ForbiddenError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.notifications.invalidation import inbox_stale

# List pages cached: the unfiltered and per-tag lists, as long as they are near the top.
CACHED_LIST_DEPTH = 100


def make_slug(title: str) -> str:
    # A random suffix keeps slugs unique without a read-then-write race on the title.
    return f"{slugify(title, max_length=80) or 'article'}-{secrets.token_hex(3)}"


def page_total(rows: list[Any]) -> int | None:
    """The list's total from its first row; None when the page is empty and must count."""
    return int(rows[0]["total"] or 0) if rows else None


def page_versions() -> tuple[str, str]:
    """The tokens a cached list page carries: articles change it, and so do author profiles."""
    return (ARTICLES, PROFILES)


def _cacheable(filters: ArticleFilter, limit: int, offset: int) -> bool:
    only_tag = filters.author is None and filters.favorited_by is None
    return only_tag and offset + limit <= CACHED_LIST_DEPTH


class ArticleService:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    async def list_articles(
        self, *, filters: ArticleFilter, viewer_id: int | None, limit: int, offset: int
    ) -> bytes:
        fetch = None
        if self.cache.enabled and _cacheable(filters, limit, offset):
            page_key = partial(
                self.cache.keys.article_page, tag=filters.tag, limit=limit, offset=offset
            )
            fetch = partial(self.cache.get_versioned, page_versions(), page_key)
        return await overlay.shared_then_viewer(
            fetch=fetch,
            read=lambda viewer: self._list(filters, viewer, limit, offset),
            viewer_id=viewer_id,
            overlay=partial(overlay.overlay_articles, self.db, field="articles"),
        )

    async def _list(
        self, filters: ArticleFilter, viewer_id: int | None, limit: int, offset: int
    ) -> dict[str, Any]:
        # One round trip: the page's rows carry the total (see queries.sql). Measured against
        # the page and a count as two concurrent reads in docs/BENCHMARKS.md.
        rows = await repo.list_articles(
            self.db, filters=filters, viewer_id=viewer_id, limit=limit, offset=offset
        )
        total = page_total(rows)
        if total is None:
            total = await repo.count_articles(self.db, filters=filters)
        return {"articles": [article_card(r) for r in rows], "articlesCount": total}

    async def list_feed(self, *, viewer_id: int, limit: int, offset: int) -> bytes:
        rows = await repo.list_feed(self.db, viewer_id=viewer_id, limit=limit, offset=offset)
        total = page_total(rows)
        if total is None:
            total = await repo.count_feed(self.db, viewer_id=viewer_id)
        return orjson.dumps({"articles": [article_card(r) for r in rows], "articlesCount": total})

    def shared_key(self, slug: str) -> Key:
        """Where the anonymous body of GET /articles/{slug} is cached (the fast path reads it)."""
        return self.cache.keys.article(slug)

    async def get_article(self, *, slug: str, viewer_id: int | None) -> bytes:
        return await overlay.shared_then_viewer(
            fetch=overlay.cached_under(self.cache, self.shared_key(slug)),
            read=lambda viewer: self._read_public(slug, viewer),
            viewer_id=viewer_id,
            overlay=partial(overlay.overlay_articles, self.db, field="article"),
        )

    async def _read_public(self, slug: str, viewer_id: int | None) -> dict[str, Any]:
        return {"article": await self._read(self.db, slug=slug, viewer_id=viewer_id)}

    async def _read(self, db: Executor, *, slug: str, viewer_id: int | None) -> dict[str, Any]:
        row = await repo.get_article(db, slug=slug, viewer_id=viewer_id)
        if row is None:
            raise NotFoundError("article")
        return article_public(row)

    async def create_article(self, *, author_id: int, new: ArticleCreate) -> bytes:
        slug = make_slug(new.title)
        async with self.db.transaction() as tx:
            article_id = await repo.create_article(
                tx,
                slug=slug,
                author_id=author_id,
                title=new.title,
                description=new.description,
                body=new.body,
                tags=new.tagList,
            )
            await repo.set_tags(tx, article_id=article_id, tags=new.tagList, replace=False)
            article = await self._read(tx, slug=slug, viewer_id=author_id)
            stale = await self.cache.stale(tx, [self.cache.keys.tags()], [ARTICLES])
        await self.cache.invalidate(stale)
        return orjson.dumps({"article": article})

    async def update_article(self, *, slug: str, viewer_id: int, changes: ArticleUpdate) -> bytes:
        async with self.db.transaction() as tx:
            current = await self._owned(tx, slug=slug, viewer_id=viewer_id, action="edit")
            new_slug = None
            if changes.title is not None and changes.title != current["title"]:
                new_slug = make_slug(changes.title)
            await repo.update_article(
                tx,
                article_id=current["id"],
                slug=new_slug,
                title=changes.title,
                description=changes.description,
                body=changes.body,
                tags=changes.tagList,
            )
            if changes.tagList is not None:
                await repo.set_tags(
                    tx, article_id=current["id"], tags=changes.tagList, replace=True
                )
            article = await self._read(tx, slug=new_slug or slug, viewer_id=viewer_id)
            keys = self.cache.keys
            dropped = [keys.article(slug)]
            if new_slug is not None:
                dropped += [keys.article(new_slug), keys.comments(slug)]
            if changes.tagList is not None:
                dropped.append(keys.tags())
            stale = await self.cache.stale(tx, dropped, [ARTICLES])
        await self.cache.invalidate(stale)
        return orjson.dumps({"article": article})

    async def delete_article(self, *, slug: str, viewer_id: int) -> None:
        async with self.db.transaction() as tx:
            current = await self._owned(tx, slug=slug, viewer_id=viewer_id, action="delete")
            await repo.delete_article(tx, article_id=current["id"])
            keys = self.cache.keys
            # The cascade removed the notifications about this article; all were the author's.
            stale = await self.cache.stale(
                tx,
                [keys.article(slug), keys.comments(slug), keys.tags(), keys.unread(viewer_id)],
                [ARTICLES, viewer(viewer_id)],
            )
        await self.cache.invalidate(stale)

    async def _owned(self, tx: Executor, *, slug: str, viewer_id: int, action: str) -> Any:
        current = await repo.get_article_for_update(tx, slug=slug)
        if current is None:
            raise NotFoundError("article")
        if current["author_id"] != viewer_id:
            raise ForbiddenError(f"{action} this article")
        return current

    async def favorite(self, *, slug: str, viewer_id: int, on: bool) -> bytes:
        async with self.db.transaction() as tx:
            target = await repo.get_article_id(tx, slug=slug)
            if target is None:
                raise NotFoundError("article")
            notified = None
            if not on:
                await repo.delete_favorite(tx, user_id=viewer_id, article_id=target["id"])
            elif await repo.create_favorite(tx, user_id=viewer_id, article_id=target["id"]):
                notified = await notifications.create_favorite_notification(
                    tx, actor_id=viewer_id, article_id=target["id"]
                )
            article = await self._read(tx, slug=slug, viewer_id=viewer_id)
            inbox_keys, inbox_versions = inbox_stale(self.cache.keys, notified)
            stale = await self.cache.stale(
                tx,
                [self.cache.keys.article(slug), *inbox_keys],
                [ARTICLES, viewer(viewer_id), *inbox_versions],
            )
        await self.cache.invalidate(stale)
        return orjson.dumps({"article": article})
