"""Article lists, reads and writes; ownership checks and slugs live here."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from functools import partial
from typing import Any

import orjson
from slugify import slugify

from brisk import overlay
from brisk.articles import repository as repo
from brisk.articles.pages import Page, Pages, Rows, Total, list_body, shared_card
from brisk.articles.repository import ArticleFilter
from brisk.articles.schemas import ArticleCreate, ArticleUpdate
from brisk.articles.views import article_card, article_public
from brisk.cache import EMBEDDED, MEMBERSHIP, Cache, Key, follows, viewer
from brisk.db import Database, Executor
from brisk.errors import AlreadyExistsError, ForbiddenError, NotFoundError
from brisk.notifications import repository as notifications
from brisk.notifications.invalidation import inbox_stale
from brisk.overlay import Shape, ViewerFlags

# List pages cached: the unfiltered and per-tag lists and the feed, near the top.
CACHED_LIST_DEPTH = 100


# Tries at a free slug for a new article before giving up with 422 (each a new suffix).
SLUG_ATTEMPTS = 5


def make_slug(title: str) -> str:
    # A random suffix keeps slugs unique without a read-then-write race on the title.
    return f"{slugify(title, max_length=80) or 'article'}-{secrets.token_hex(3)}"


def page_total(rows: list[Any], offset: int) -> int | None:
    """The list's total from its first row; None when a page past the first is empty and the
    list must be counted (an empty first page is an empty list)."""
    if rows:
        return int(rows[0]["total"] or 0)
    return 0 if offset == 0 else None


def list_scope(filters: ArticleFilter, limit: int, offset: int) -> str | None:
    """The id-list scope a page is cached under, or None when it is not cached."""
    if filters.author is not None or filters.favorited_by is not None:
        return None
    if offset + limit > CACHED_LIST_DEPTH:
        return None
    return "all" if filters.tag is None else f"tag={filters.tag}"


class ArticleService:
    def __init__(self, db: Database, cache: Cache, flags: ViewerFlags) -> None:
        self.db = db
        self.cache = cache
        self.flags = flags
        self.pages = Pages(db, cache, flags)

    async def list_articles(
        self, *, filters: ArticleFilter, viewer_id: int | None, limit: int, offset: int
    ) -> bytes:
        key = await self.list_key(filters, limit, offset)
        if key is None:
            return orjson.dumps(await self._list(filters, viewer_id, limit, offset))

        async def rows() -> list[Any]:
            return await repo.list_articles(
                self.db, filters=filters, viewer_id=None, limit=limit, offset=offset
            )

        async def total(found: list[Any]) -> int:
            stored = page_total(found, offset)
            return await repo.count_articles(self.db, filters=filters) if stored is None else stored

        page = await self.pages.page(key, rows, total)
        return list_body(await self.pages.cards(page, viewer_id), page.total)

    async def list_key(self, filters: ArticleFilter, limit: int, offset: int) -> Key | None:
        """The id list a page of GET /articles is cached under now, if it is cached."""
        scope = list_scope(filters, limit, offset)
        if scope is None or not self.cache.enabled:
            return None
        versions = await self.cache.versions([MEMBERSHIP])
        if versions is None:
            return None  # without the current token nothing cached can be trusted
        return self.cache.keys.article_ids(versions, scope, limit, offset)

    def peek_list(
        self, filters: ArticleFilter, limit: int, offset: int, viewer_id: int | None
    ) -> bytes | None:
        """A page of GET /articles from L1 alone (the fast path), or None."""
        scope = list_scope(filters, limit, offset)
        versions = None if scope is None else self.cache.peek_versions([MEMBERSHIP])
        if scope is None or versions is None:
            return None
        return self._peek_body(
            self.cache.keys.article_ids(versions, scope, limit, offset), viewer_id
        )

    def _peek_body(self, key: Key, viewer_id: int | None) -> bytes | None:
        page = self.pages.peek_page(key)
        cards = None if page is None else self.pages.peek_cards(page, viewer_id)
        return None if page is None or cards is None else list_body(cards, page.total)

    async def _list(
        self, filters: ArticleFilter, viewer_id: int | None, limit: int, offset: int
    ) -> dict[str, Any]:
        # One round trip: the page's rows carry the total (see queries.sql). Measured against
        # the page and a count as two concurrent reads in docs/BENCHMARKS.md.
        rows = await repo.list_articles(
            self.db, filters=filters, viewer_id=viewer_id, limit=limit, offset=offset
        )
        total = page_total(rows, offset)
        if total is None:
            total = await repo.count_articles(self.db, filters=filters)
        return {"articles": [article_card(r) for r in rows], "articlesCount": total}

    async def list_feed(self, *, viewer_id: int, limit: int, offset: int) -> bytes:
        key = await self.feed_key(viewer_id, limit, offset)
        if key is None:
            rows = await repo.list_feed(self.db, viewer_id=viewer_id, limit=limit, offset=offset)
            total = page_total(rows, offset)
            if total is None:
                total = await repo.count_feed(self.db, viewer_id=viewer_id)
            return list_body([orjson.dumps(article_card(r)) for r in rows], total)
        page = await self.feed_page(key, viewer_id, limit, offset)
        return list_body(await self.pages.cards(page, viewer_id), page.total)

    @staticmethod
    def feed_versions(viewer_id: int) -> list[str]:
        """The tokens a feed's id list carries: membership, and its reader's follows."""
        return [MEMBERSHIP, follows(viewer_id)]

    def feed_key_of(self, tokens: tuple[str, ...], viewer_id: int, limit: int, offset: int) -> Key:
        """The id list of a feed page under the current `feed_versions` tokens (the dashboard's
        feed is the page `limit=10, offset=0` of the same list)."""
        return self.cache.keys.article_ids(tokens, f"feed={viewer_id}", limit, offset)

    def author_key_of(self, membership: str, author_id: int, limit: int) -> Key:
        """The id list of an author's newest articles (the dashboard's own)."""
        return self.cache.keys.article_ids((membership,), f"author={author_id}", limit, 0)

    async def feed_key(self, viewer_id: int, limit: int, offset: int) -> Key | None:
        """The id list a page of the viewer's feed is cached under now, if it is cached."""
        if not self.cache.enabled or offset + limit > CACHED_LIST_DEPTH:
            return None
        tokens = await self.cache.versions(self.feed_versions(viewer_id))
        return None if tokens is None else self.feed_key_of(tokens, viewer_id, limit, offset)

    def peek_feed_key(self, viewer_id: int, limit: int, offset: int) -> Key | None:
        if offset + limit > CACHED_LIST_DEPTH:
            return None
        tokens = self.cache.peek_versions(self.feed_versions(viewer_id))
        return None if tokens is None else self.feed_key_of(tokens, viewer_id, limit, offset)

    def peek_feed(self, viewer_id: int, limit: int, offset: int) -> bytes | None:
        key = self.peek_feed_key(viewer_id, limit, offset)
        return None if key is None else self._peek_body(key, viewer_id)

    def author_rows(self, author_id: int, limit: int) -> tuple[Rows, Total]:
        """How an id list of the author's newest articles is read (the dashboard's own)."""

        async def rows() -> list[Any]:
            return await repo.list_articles_by_author_id(
                self.db, author_id=author_id, viewer_id=None, limit=limit, offset=0
            )

        async def total(found: list[Any]) -> int:
            return len(found)  # the dashboard shows no total

        return rows, total

    async def feed_page(self, key: Key, viewer_id: int, limit: int, offset: int) -> Page:
        async def rows() -> list[Any]:
            # The feed's rows carry this viewer's flags; shared_card clears them for the cache.
            return await repo.list_feed(self.db, viewer_id=viewer_id, limit=limit, offset=offset)

        async def total(found: list[Any]) -> int:
            stored = page_total(found, offset)
            return await repo.count_feed(self.db, viewer_id=viewer_id) if stored is None else stored

        return await self.pages.page(key, rows, total)

    def shared_key(self, slug: str) -> Key:
        """Where the anonymous body of GET /articles/{slug} is cached (the fast path reads it)."""
        return self.cache.keys.article(slug)

    async def get_article(self, *, slug: str, viewer_id: int | None) -> bytes:
        return await overlay.shared_then_viewer(
            fetch=overlay.cached_under(self.cache, self.shared_key(slug)),
            load=lambda: self._load_article(slug),
            read=lambda viewer: self._read_public(slug, viewer),
            viewer_id=viewer_id,
            flags=self.flags,
            shape=Shape.ARTICLE,
        )

    def peek_article(self, slug: str, viewer_id: int | None) -> bytes | None:
        key = self.shared_key(slug)
        return overlay.peek_document(self.cache, self.flags, key, viewer_id, Shape.ARTICLE)

    async def _load_article(self, slug: str) -> bytes:
        since = self.cache.generation()
        row = await repo.get_article(self.db, slug=slug, viewer_id=None)
        if row is None:
            raise NotFoundError("article")
        # The row holds the card's columns too (card-columns, queries.sql): kept on the way, so
        # a reader's miss of an article leaves no card to miss after it.
        self.cache.warm(self.cache.keys.card(row["id"]), orjson.dumps(shared_card(row)), since)
        body = orjson.dumps({"article": article_public(row)})
        return overlay.pack((row["id"], row["author_id"]), body)

    async def _read_public(self, slug: str, viewer_id: int | None) -> dict[str, Any]:
        return {"article": await self._read(self.db, slug=slug, viewer_id=viewer_id)}

    async def _read(self, db: Executor, *, slug: str, viewer_id: int | None) -> dict[str, Any]:
        row = await repo.get_article(db, slug=slug, viewer_id=viewer_id)
        if row is None:
            raise NotFoundError("article")
        return article_public(row)

    async def create_article(self, *, author_id: int, new: ArticleCreate) -> bytes:
        async with self.db.transaction() as tx:
            # Many articles share a title ("Hello"), so their 24-bit suffixes meet now and
            # then (with 10,000 of one title, a few pairs): another suffix, not a 422.
            for _ in range(SLUG_ATTEMPTS):
                slug = make_slug(new.title)
                article_id = await repo.create_article(
                    tx,
                    slug=slug,
                    author_id=author_id,
                    title=new.title,
                    description=new.description,
                    body=new.body,
                    tags=new.tagList,
                )
                if article_id is not None:
                    break
            else:
                raise AlreadyExistsError("slug")
            await repo.set_tags(tx, article_id=article_id, tags=new.tagList, replace=False)
            article = await self._read(tx, slug=slug, viewer_id=author_id)
            # A new article joins lists: every id list may change, no card does.
            stale = await self.cache.stale(tx, [self.cache.keys.tags()], [MEMBERSHIP])
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
            dropped = [keys.article(slug), keys.card(current["id"])]
            versions = []
            if new_slug is not None:
                dropped += [keys.article(new_slug), keys.comments(slug)]
                versions.append(EMBEDDED)  # notifications show the article's title and slug
            if changes.tagList is not None:
                dropped.append(keys.tags())
                versions.append(MEMBERSHIP)  # retagged: it leaves and joins tag lists
            stale = await self.cache.stale(tx, dropped, versions)
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self._refresh, new_slug or slug, current["id"], None))
        return orjson.dumps({"article": article})

    async def delete_article(self, *, slug: str, viewer_id: int) -> None:
        async with self.db.transaction() as tx:
            current = await self._owned(tx, slug=slug, viewer_id=viewer_id, action="delete")
            await repo.delete_article(tx, article_id=current["id"])
            keys = self.cache.keys
            # The batches removed the notifications about this article; all were the author's.
            stale = await self.cache.stale(
                tx,
                [
                    keys.article(slug),
                    keys.card(current["id"]),
                    keys.comments(slug),
                    keys.tags(),
                    keys.unread(viewer_id),
                ],
                [MEMBERSHIP, viewer(viewer_id)],
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
            # One article's count and one viewer's flags changed: no list's membership did.
            keys = self.cache.keys
            inbox_keys, inbox_versions = inbox_stale(keys, notified)
            stale = await self.cache.stale(
                tx,
                [
                    keys.article(slug),
                    keys.card(target["id"]),
                    keys.favorites(viewer_id),
                    *inbox_keys,
                ],
                inbox_versions,
            )
        await self.cache.invalidate(stale)
        self.cache.refill(partial(self._refresh, slug, target["id"], viewer_id))
        return orjson.dumps({"article": article})

    async def _refresh(self, slug: str, article_id: int, viewer_id: int | None) -> None:
        """What a favorite or an edit dropped, read again (Cache.refill): the article, its
        card, the viewer's own favorites, all at once, so each has a load in flight that the
        readers who miss it meanwhile join (the fast path waits for it) instead of starting
        their own."""
        reads: list[Awaitable[object]] = [
            self.get_article(slug=slug, viewer_id=None),
            self.pages.shared_cards([article_id]),
        ]
        if viewer_id is not None:
            reads.append(self.flags.favorited(viewer_id))
        for outcome in await asyncio.gather(*reads, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
