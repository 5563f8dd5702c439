"""A cached shared document handed to each viewer with their own flags, the one way every
service reads one (ADR 0020)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from enum import Enum
from functools import partial
from typing import Any

import orjson

from brisk.cache import Cache, Key
from brisk.overlay.document import FAVORITED, FOLLOWING, body_of, mark, unpack
from brisk.overlay.flags import ViewerFlags

Json = dict[str, Any]
# A cache read of the packed shared document, given the loader that packs it on a miss.
Fetch = Callable[[Callable[[], Awaitable[bytes]]], Awaitable[bytes]]


def cached_under(cache: Cache, key: Key) -> Fetch | None:
    """The fetch of an entity key, or None when caching is off."""
    return partial(cache.get_or_load, key) if cache.enabled else None


class Shape(Enum):
    """What a document's ids are, and so which flags they set."""

    # (article id, author id): `favorited`, then the author's `following`.
    ARTICLE = "article"
    # One user id per `following` flag, in document order: a profile, a comment list.
    USERS = "users"


def lay_article(
    body: bytes, refs: Sequence[int], favorited: Collection[int], following: Collection[int]
) -> bytes:
    article_id, author_id = refs
    body = mark(body, FAVORITED, (article_id in favorited,))
    return mark(body, FOLLOWING, (author_id in following,))


def lay_users(body: bytes, refs: Sequence[int], following: Collection[int]) -> bytes:
    return mark(body, FOLLOWING, [ref in following for ref in refs])


def _lay(
    body: bytes,
    refs: Sequence[int],
    shape: Shape,
    favorited: Collection[int] | None,
    following: Collection[int],
) -> bytes:
    if shape is Shape.ARTICLE:
        assert favorited is not None  # an article's read fetched both sets
        return lay_article(body, refs, favorited, following)
    return lay_users(body, refs, following)


async def as_seen_by(
    flags: ViewerFlags, value: bytes, viewer_id: int | None, shape: Shape
) -> bytes:
    """The body of a packed document as `viewer_id` sees it (anonymous: as stored)."""
    refs, body = unpack(value)
    if viewer_id is None or not refs:
        return body
    following = await flags.following(viewer_id)
    favorited = await flags.favorited(viewer_id) if shape is Shape.ARTICLE else None
    return _lay(body, refs, shape, favorited, following)


def peek_as_seen_by(flags: ViewerFlags, value: bytes, viewer_id: int, shape: Shape) -> bytes | None:
    """As `as_seen_by`, from L1 alone (the fast path): None when a set is not there."""
    refs, body = unpack(value)
    if not refs:
        return body
    following = flags.peek_following(viewer_id)
    favorited = flags.peek_favorited(viewer_id) if shape is Shape.ARTICLE else None
    if following is None or (shape is Shape.ARTICLE and favorited is None):
        return None
    return _lay(body, refs, shape, favorited, following)


def peek_document(
    cache: Cache, flags: ViewerFlags, key: Key, viewer_id: int | None, shape: Shape
) -> bytes | None:
    """The body of the packed document under `key` as the viewer sees it, from L1 alone."""
    value = cache.peek(key)
    if value is None:
        return None
    if viewer_id is None:
        return body_of(value)
    return peek_as_seen_by(flags, value, viewer_id, shape)


async def shared_then_viewer(
    *,
    fetch: Fetch | None,
    load: Callable[[], Awaitable[bytes]],
    read: Callable[[int | None], Awaitable[Json]],
    viewer_id: int | None,
    flags: ViewerFlags,
    shape: Shape,
) -> bytes:
    """The packed shared document from the cache (`load` on a miss), then the viewer's flags
    from their cached sets. Without `fetch` (caching off, or a page that is not cached) the
    viewer's document is `read` directly, flags and all, from PostgreSQL."""
    if fetch is None:
        return orjson.dumps(await read(viewer_id))
    return await as_seen_by(flags, await fetch(load), viewer_id, shape)
