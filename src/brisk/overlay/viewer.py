"""Rewriting a cached shared body for one viewer, and the read that does it for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol

import orjson

from brisk.cache import Cache, Key
from brisk.db import Executor
from brisk.overlay.repository import viewer_flags

Json = dict[str, Any]
# A cache read of the shared body, given the loader that computes it on a miss.
Fetch = Callable[[Callable[[], Awaitable[bytes]]], Awaitable[bytes]]
# The response document as one viewer sees it; None reads it as nobody (the shared body).
ReadFor = Callable[[int | None], Awaitable[Json]]


class Overlay(Protocol):
    def __call__(self, body: bytes, *, viewer_id: int) -> Awaitable[bytes]: ...


def cached_under(cache: Cache, key: Key) -> Fetch | None:
    """The fetch of an entity key, or None when caching is off."""
    return partial(cache.get_or_load, key) if cache.enabled else None


async def shared_then_viewer(
    *, fetch: Fetch | None, read: ReadFor, viewer_id: int | None, overlay: Overlay
) -> bytes:
    """The shared body from the cache (loaded as nobody's on a miss), then the viewer's own
    flags laid over it; an anonymous reader gets the cached bytes as they are. Without `fetch`
    (caching off, or a page that is not cached) the viewer's document is read directly."""
    if fetch is None:
        return orjson.dumps(await read(viewer_id))

    async def load() -> bytes:
        return orjson.dumps(await read(None))

    body = await fetch(load)
    if viewer_id is None:
        return body
    return await overlay(body, viewer_id=viewer_id)


def _authors(items: Iterable[Json]) -> set[str]:
    return {item["author"]["username"] for item in items}


async def overlay_articles(db: Executor, body: bytes, *, viewer_id: int, field: str) -> bytes:
    """``body[field]`` is one article or a list of them: set favorited and author.following."""
    doc = orjson.loads(body)
    articles = doc[field] if isinstance(doc[field], list) else [doc[field]]
    if not articles:
        return body
    favorited, following = await viewer_flags(
        db,
        viewer_id=viewer_id,
        slugs={a["slug"] for a in articles},
        usernames=_authors(articles),
    )
    for article in articles:
        article["favorited"] = article["slug"] in favorited
        article["author"]["following"] = article["author"]["username"] in following
    return orjson.dumps(doc)


async def overlay_authors(db: Executor, body: bytes, *, viewer_id: int, field: str) -> bytes:
    """``body[field]`` is a list of items with an author (comments): set author.following."""
    doc = orjson.loads(body)
    items = doc[field]
    if not items:
        return body
    _, following = await viewer_flags(db, viewer_id=viewer_id, slugs=(), usernames=_authors(items))
    for item in items:
        item["author"]["following"] = item["author"]["username"] in following
    return orjson.dumps(doc)


async def overlay_profile(db: Executor, body: bytes, *, viewer_id: int) -> bytes:
    doc = orjson.loads(body)
    profile = doc["profile"]
    _, following = await viewer_flags(
        db, viewer_id=viewer_id, slugs=(), usernames=[profile["username"]]
    )
    profile["following"] = profile["username"] in following
    return orjson.dumps(doc)
