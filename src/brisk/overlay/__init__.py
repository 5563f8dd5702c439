"""Per-viewer fields laid over cached, viewer-independent responses.

Cached bodies say ``favorited: false`` and ``following: false``; for a signed-in viewer one small
query (two index probes per item) says which are true, and the body is rewritten for them only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))

Json = dict[str, Any]


async def viewer_flags(
    db: Executor, *, viewer_id: int, slugs: Iterable[str], usernames: Iterable[str]
) -> tuple[set[str], set[str]]:
    row = await db.fetchrow(Q["get-viewer-flags"], viewer_id, list(slugs), list(usernames))
    assert row is not None  # an aggregate row always comes back
    return set(row["favorited"]), set(row["following"])


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
