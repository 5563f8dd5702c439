"""Every named query, planned against a seeded and ANALYZEd database, uses an index on the big
tables: no sequential scan in the plan PostgreSQL runs for it.

brisk's connections run prepared statements with plan_cache_mode=force_generic_plan (planned
once, without the parameter values), so the generic plan is the one that runs and must be an
index plan; the custom plan (what `auto` may pick) is held to the same rule."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

import brisk.app  # noqa: F401 - importing the app loads every domain's queries into the registry
from brisk.db.counters import MAINTENANCE_QUERIES
from brisk.db.queries import LIMIT_SLOT, REGISTRY, Query
from brisk.lab.seed import SCALES, seed_database
from tests.conftest import create_scratch_database, drop_database

# The tables that grow with use. `users` is left out: at the seeded scale a hash join over all
# users is legitimately the cheapest plan for a viewer following a large share of them.
BIG_TABLES = frozenset(
    {"articles", "favorites", "follows", "comments", "article_tags", "notifications"}
)


@dataclass(frozen=True)
class Sample:
    """Realistic parameter values taken from the seeded data (the busiest rows, the worst case)."""

    viewer_id: int
    author: str
    author_id: int
    email: str
    tag: str
    favoriter: str
    slug: str
    article_id: int
    comment_slug: str
    comment_id: int
    recipient_id: int
    notification_id: int
    unread_id: int


async def _sample(conn: asyncpg.Connection) -> Sample:
    viewer = await conn.fetchval(
        "SELECT follower_id FROM follows GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    author = await conn.fetchrow(
        "SELECT id, username, email FROM users ORDER BY articles_count DESC LIMIT 1"
    )
    article = await conn.fetchrow(
        "SELECT id, slug FROM articles ORDER BY favorites_count DESC LIMIT 1"
    )
    comment = await conn.fetchrow(
        "SELECT c.id, a.slug FROM comments c JOIN articles a ON a.id = c.article_id LIMIT 1"
    )
    recipient = await conn.fetchval(
        "SELECT recipient_id FROM notifications GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    # Cursors in the middle of that user's history: a page that continues, not the first one.
    middle = "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM notifications"
    notification_id = await conn.fetchval(f"{middle} WHERE recipient_id = $1", recipient)
    unread_id = await conn.fetchval(
        f"{middle} WHERE recipient_id = $1 AND read_at IS NULL", recipient
    )
    return Sample(
        viewer_id=viewer,
        author=author["username"],
        author_id=author["id"],
        email=author["email"],
        tag=await conn.fetchval("SELECT name FROM tags ORDER BY articles_count DESC LIMIT 1"),
        favoriter=await conn.fetchval(
            "SELECT username FROM users ORDER BY favorited_articles_count DESC LIMIT 1"
        ),
        slug=article["slug"],
        article_id=article["id"],
        comment_slug=comment["slug"],
        comment_id=comment["id"],
        recipient_id=recipient,
        notification_id=notification_id,
        unread_id=unread_id,
    )


ARGS: dict[str, Callable[[Sample], tuple[Any, ...]]] = {
    "get-user-by-id": lambda s: (s.viewer_id,),
    "get-user-by-email": lambda s: (s.email,),
    "create-user": lambda s: ("explain-user", "explain@example.com", "hash"),
    "update-user": lambda s: (s.viewer_id, None, None, None, "bio", None),
    "get-profile-by-username": lambda s: (s.author, s.viewer_id),
    "create-follow": lambda s: (s.viewer_id, s.author_id),
    "delete-follow": lambda s: (s.viewer_id, s.author_id),
    "get-article-by-slug": lambda s: (s.viewer_id, s.slug),
    "list-articles": lambda s: (s.viewer_id, 0),
    "list-articles-by-author": lambda s: (s.viewer_id, 0, s.author),
    "list-articles-by-author-id": lambda s: (s.viewer_id, 0, s.author_id),
    "list-articles-by-tag": lambda s: (s.viewer_id, 0, s.tag),
    "list-articles-favorited-by": lambda s: (s.viewer_id, 0, s.favoriter),
    "list-articles-by-author-filtered": lambda s: (s.viewer_id, 0, s.author, s.tag, None),
    "list-articles-favorited-by-tagged": lambda s: (s.viewer_id, 0, s.favoriter, s.tag),
    "list-feed": lambda s: (s.viewer_id, 0),
    "count-articles": lambda s: (),
    "count-articles-by-author": lambda s: (s.author,),
    "count-articles-by-tag": lambda s: (s.tag,),
    "count-articles-favorited-by": lambda s: (s.favoriter,),
    "count-articles-by-author-filtered": lambda s: (s.author, s.tag, None),
    "count-articles-favorited-by-tagged": lambda s: (s.favoriter, s.tag),
    "count-feed": lambda s: (s.viewer_id,),
    "get-article-for-update": lambda s: (s.slug,),
    "get-article-id-by-slug": lambda s: (s.slug,),
    "create-article": lambda s: ("explain-slug", s.author_id, "t", "d", "b", [s.tag]),
    "update-article": lambda s: (s.article_id, None, "t", None, None, None),
    "delete-article": lambda s: (s.article_id,),
    "delete-article-favorites": lambda s: (s.article_id,),
    "create-tags": lambda s: (["explain-tag", s.tag],),
    "link-article-tags": lambda s: (s.article_id, [s.tag]),
    "unlink-article-tags": lambda s: (s.article_id,),
    "create-favorite": lambda s: (s.viewer_id, s.article_id),
    "delete-favorite": lambda s: (s.viewer_id, s.article_id),
    "list-comments": lambda s: (s.slug, s.viewer_id, 100, 0),
    "create-comment": lambda s: (s.slug, s.viewer_id, "body"),
    "get-comment-for-delete": lambda s: (s.comment_slug, s.comment_id),
    "delete-comment": lambda s: (s.comment_id,),
    "list-tags": lambda s: (500,),
    "list-notifications": lambda s: (s.recipient_id,),
    "list-notifications-before": lambda s: (s.recipient_id, s.notification_id),
    "list-unread-notifications": lambda s: (s.recipient_id,),
    "list-unread-notifications-before": lambda s: (s.recipient_id, s.unread_id),
    "count-unread-notifications": lambda s: (s.recipient_id,),
    "mark-notifications-read": lambda s: (s.recipient_id, [s.notification_id, s.unread_id]),
    "mark-notifications-read-up-to": lambda s: (s.recipient_id, s.notification_id),
    "create-follow-notification": lambda s: (s.viewer_id, s.author_id),
    "create-favorite-notification": lambda s: (s.viewer_id, s.article_id),
    "create-comment-notification": lambda s: (s.comment_id,),
    "get-dashboard": lambda s: (s.viewer_id,),
    "get-viewer-flags": lambda s: (s.viewer_id, [s.slug, s.comment_slug], [s.author]),
    "list-user-authored-slugs": lambda s: (s.author_id,),
}


def _literal(value: Any) -> str:
    """SQL literal for EXECUTE's arguments (test data only, never user input)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        kind = "bigint" if all(isinstance(v, int) for v in value) else "text"
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + f"]::{kind}[]"
    return "'" + str(value).replace("'", "''") + "'"


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _root(explained: Any) -> dict[str, Any]:
    plan: dict[str, Any] = (json.loads(explained) if isinstance(explained, str) else explained)[0]
    return plan["Plan"]  # type: ignore[no-any-return]


def _seq_scans(explained: Any) -> list[str]:
    root = _root(explained)
    return sorted(
        n["Relation Name"]
        for n in _nodes(root)
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in BIG_TABLES
    )


@pytest.fixture(scope="module")
async def seeded(servers: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Connection, Sample]]:
    admin_url = servers[0]
    url = await create_scratch_database(admin_url, "brisk_plans")
    await seed_database(url, SCALES["XS"], seed=7)
    conn = await asyncpg.connect(url)
    await conn.execute("VACUUM ANALYZE")
    try:
        yield conn, await _sample(conn)
    finally:
        await conn.close()
        await drop_database(admin_url, url)


REQUEST_QUERIES = sorted(set(REGISTRY) - MAINTENANCE_QUERIES)


def test_every_request_query_has_sample_arguments() -> None:
    assert sorted(ARGS) == REQUEST_QUERIES


@pytest.mark.parametrize("name", REQUEST_QUERIES)
async def test_query_uses_indexes(seeded: tuple[asyncpg.Connection, Sample], name: str) -> None:
    conn, sample = seeded
    query: Query = REGISTRY[name]
    if LIMIT_SLOT in query.sql:
        query = query.with_limit(20)  # as the app runs it: the page size is a literal
    args = ARGS[name](sample)
    tx = conn.transaction()
    await tx.start()
    try:  # EXPLAIN ANALYZE runs writes for real: roll them back.
        custom = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query.sql}", *args)
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE plan_check AS {query.sql}")
        arguments = ", ".join(_literal(a) for a in args)
        execute = f"EXECUTE plan_check({arguments})" if args else "EXECUTE plan_check"
        generic = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {execute}")
    finally:
        await tx.rollback()
        # PREPARE outlives the rollback; DEALLOCATE ALL would also drop asyncpg's statements.
        if await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = 'plan_check'"
        ):
            await conn.execute("DEALLOCATE plan_check")
    assert _seq_scans(custom) == [], f"{name}: custom plan scans a big table sequentially"
    assert _seq_scans(generic) == [], f"{name}: generic plan scans a big table sequentially"
