"""Cached article lists, composed (ADR 0020): which articles a page holds (an id list, kept per
scope and page) and each article's card (kept per article), with the viewer's flags laid over.

A favorite changes one card and one viewer's favorites set, so it drops those and nothing
else; an id list is dropped only when membership can change (an article created, deleted or
retagged: the MEMBERSHIP token), a feed also when its reader follows or unfollows someone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from brisk.articles import repository as repo
from brisk.articles.views import article_card
from brisk.cache import BatchLoader, Cache, Key
from brisk.db import Database
from brisk.overlay import ViewerFlags, lay_article

# (article id, author id): what a card's viewer flags are about.
Ref = tuple[int, int]
Rows = Callable[[], Awaitable[list[Any]]]
# The list's total, given the rows read (a stored counter rides on them, or a count query).
Total = Callable[[list[Any]], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Page:
    refs: list[Ref]
    total: int

    def encode(self) -> bytes:
        return orjson.dumps({"refs": self.refs, "total": self.total})

    @classmethod
    def decode(cls, value: bytes) -> Page:
        doc = orjson.loads(value)
        return cls([(ref[0], ref[1]) for ref in doc["refs"]], doc["total"])


def shared_card(row: Any) -> dict[str, Any]:
    """The card as everyone sees it: whatever viewer the row was read for, no flag is set."""
    card = article_card(row)
    card["favorited"] = False
    card["author"]["following"] = False
    return card


def join_cards(cards: Sequence[bytes]) -> bytes:
    return b"[" + b",".join(cards) + b"]"


def list_body(cards: Sequence[bytes], total: int) -> bytes:
    """`{"articles": [...], "articlesCount": N}` from card bytes, without parsing them."""
    return b'{"articles":' + join_cards(cards) + b',"articlesCount":%d}' % total


class Pages:
    def __init__(self, db: Database, cache: Cache, flags: ViewerFlags) -> None:
        self.db = db
        self.cache = cache
        self.flags = flags

    async def page(self, key: Key, rows: Rows, total: Total) -> Page:
        """The id list under `key`; on a miss `rows` reads the page's cards, which are kept too."""

        async def load() -> bytes:
            since = self.cache.generation()
            found = await rows()
            count = await total(found)
            for row in found:
                card = orjson.dumps(shared_card(row))
                self.cache.warm(self.cache.keys.card(row["id"]), card, since)
            return Page([(r["id"], r["author_id"]) for r in found], count).encode()

        return Page.decode(await self.cache.get_or_load(key, load))

    async def cards(self, page: Page, viewer_id: int | None) -> list[bytes]:
        """The page's cards, in order, as the viewer sees them (an article deleted since the
        id list was read is left out)."""
        found = await self.shared_cards([article_id for article_id, _ in page.refs])
        present = [(found[ref[0]], ref) for ref in page.refs if ref[0] in found]
        if viewer_id is None:
            return [card for card, _ in present]
        favorited = await self.flags.favorited(viewer_id)
        following = await self.flags.following(viewer_id)
        return [lay_article(card, ref, favorited, following) for card, ref in present]

    async def shared_cards(self, article_ids: list[int]) -> dict[int, bytes]:
        """Cards as everyone sees them, by article id: from L1, the missing ones by one query
        (an article that is gone is absent)."""
        keys, load = self._card_keys(article_ids)
        found = await self.cache.get_many(keys, load)
        ids = dict(zip((k.name for k in keys), article_ids, strict=True))
        return {ids[name]: card for name, card in found.items()}

    def _card_keys(self, article_ids: list[int]) -> tuple[list[Key], BatchLoader]:
        """The cards' keys, and the one query that loads any of them."""
        keys = [self.cache.keys.card(article_id) for article_id in article_ids]

        async def load(missing: list[Key]) -> dict[str, bytes]:
            # Built here, not above: the fast path asks for this loader on every hit and
            # calls it only for cards about to expire.
            ids = dict(zip((k.name for k in keys), article_ids, strict=True))
            rows = await repo.get_article_cards(self.db, ids=[ids[k.name] for k in missing])
            return {
                self.cache.keys.card(row["id"]).name: orjson.dumps(shared_card(row)) for row in rows
            }

        return keys, load

    def peek_cards(self, page: Page, viewer_id: int | None) -> list[bytes] | None:
        """As `cards`, from L1 alone (the fast path): None when anything is not there."""
        cards = self.cache.peek_many(*self._card_keys([article_id for article_id, _ in page.refs]))
        if cards is None:
            return None
        if viewer_id is None:
            return cards
        favorited = self.flags.peek_favorited(viewer_id)
        following = self.flags.peek_following(viewer_id)
        if favorited is None or following is None:
            return None
        return [
            lay_article(card, ref, favorited, following)
            for card, ref in zip(cards, page.refs, strict=True)
        ]

    def peek_page(self, key: Key) -> Page | None:
        value = self.cache.peek(key)
        return None if value is None else Page.decode(value)
