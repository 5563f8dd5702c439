"""Realistic parameters for every named request query, taken from the data.

What `brisk doctor` and the EXPLAIN test (tests/integration/test_query_plans.py) plan each
query with: the busiest rows, so a plan is judged on its worst case, not an empty one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from brisk.articles.repository import create_favorite, release_article
from brisk.db.counters import MAINTENANCE_QUERIES
from brisk.db.pool import Connection
from brisk.db.queries import Query


class NoSampleDataError(Exception):
    """The database has no rows to take parameters from (seed it, or let traffic in)."""


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
    commenter_id: int
    recipient_id: int
    notification_id: int
    unread_id: int


async def sample_from(conn: asyncpg.Connection) -> Sample:
    """The busiest user, author, tag, article and inbox of the data: a query's worst case."""
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
    found = {
        "follows": viewer,
        "users": author,
        "articles": article,
        "comments": comment,
        "notifications": recipient,
    }
    if author is None or article is None or comment is None or None in found.values():
        missing = ", ".join(table for table, row in found.items() if row is None)
        raise NoSampleDataError(f"no rows to take parameters from in: {missing}")
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
        commenter_id=await conn.fetchval(
            "SELECT author_id FROM comments GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ),
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
    "list-articles-by-author-tagged": lambda s: (s.viewer_id, 0, s.author, s.tag),
    "list-articles-by-author-filtered": lambda s: (s.viewer_id, 0, s.author, None, s.favoriter),
    "list-articles-favorited-by-tagged": lambda s: (s.viewer_id, 0, s.favoriter, s.tag),
    "list-feed": lambda s: (s.viewer_id, 0),
    "count-articles": lambda s: (),
    "count-articles-by-author": lambda s: (s.author,),
    "count-articles-by-tag": lambda s: (s.tag,),
    "count-articles-favorited-by": lambda s: (s.favoriter,),
    "count-articles-by-author-tagged": lambda s: (s.author, s.tag),
    "count-articles-by-author-filtered": lambda s: (s.author, None, s.favoriter),
    "count-articles-favorited-by-tagged": lambda s: (s.favoriter, s.tag),
    "count-feed": lambda s: (s.viewer_id,),
    "get-article-for-update": lambda s: (s.slug,),
    "get-article-id-by-slug": lambda s: (s.slug,),
    "create-article": lambda s: ("explain-slug", s.author_id, "t", "d", "b", [s.tag]),
    "move-feed-counts": lambda s: (s.author_id, 0, 1),
    "update-article": lambda s: (s.article_id, None, "t", None, None, None),
    "delete-article": lambda s: (s.article_id,),
    "delete-article-favorites": lambda s: (s.article_id, 0),
    "delete-article-notifications": lambda s: (s.article_id, 0),
    "delete-article-comments": lambda s: (s.article_id, "0001-01-01 00:00:00+00", 0),
    "create-tags": lambda s: (["explain-tag", s.tag],),
    "link-article-tags": lambda s: (s.article_id, [s.tag]),
    "unlink-article-tags": lambda s: (s.article_id,),
    "unlink-favorite-tags": lambda s: (s.article_id, 0),
    "link-favorite-tags": lambda s: (s.article_id, 0),
    "create-favorite": lambda s: (s.viewer_id, s.article_id),
    "delete-favorite": lambda s: (s.viewer_id, s.article_id),
    "list-comments": lambda s: (s.slug, s.viewer_id, 100, 0),
    "create-comment": lambda s: (s.slug, s.viewer_id, "body"),
    "get-comment-for-delete": lambda s: (s.comment_slug, s.comment_id),
    "delete-comment": lambda s: (s.comment_id,),
    "delete-comment-notifications": lambda s: (s.comment_id,),
    "list-tags": lambda s: (500,),
    "list-notifications": lambda s: (s.recipient_id,),
    "list-notifications-before": lambda s: (s.recipient_id, s.notification_id),
    "list-unread-notifications": lambda s: (s.recipient_id,),
    "list-unread-notifications-before": lambda s: (s.recipient_id, s.unread_id),
    "count-unread-notifications": lambda s: (s.recipient_id,),
    "mark-notifications-read": lambda s: (s.recipient_id, [s.notification_id, s.unread_id]),
    "mark-notifications-read-up-to": lambda s: (s.recipient_id, s.unread_id),
    "release-unread-notifications": lambda s: ([s.recipient_id], [1]),
    "create-follow-notification": lambda s: (s.viewer_id, s.author_id),
    "create-favorite-notification": lambda s: (s.viewer_id, s.article_id),
    "create-comment-notification": lambda s: (s.comment_id,),
    "get-dashboard": lambda s: (s.viewer_id,),
    "get-favorited-ids": lambda s: (s.viewer_id,),
    "get-followed-ids": lambda s: (s.viewer_id,),
    "get-article-cards": lambda s: (None, [s.article_id]),
    "list-user-articles-batch": lambda s: (s.author_id, "infinity", 2**63 - 1),
    "list-user-commented-batch": lambda s: (s.commenter_id, 0),
    "get-token-generation": lambda s: (s.viewer_id,),
    "record-invalidation": lambda s: ("explain", [f"article:{s.slug}"], ["articles"]),
    "forget-invalidations": lambda s: ([1, 2, 3],),
    "claim-invalidations": lambda s: ("explain", 1.0, 200),
}


Prelude = Callable[[asyncpg.Connection], Awaitable[None]]


def _article_released(sample: Sample) -> Prelude:
    async def run(conn: asyncpg.Connection) -> None:
        await release_article(Connection(conn, []), article_id=sample.article_id)

    return run


def _favorited(sample: Sample) -> Prelude:
    async def run(conn: asyncpg.Connection) -> None:
        db = Connection(conn, [])
        await create_favorite(db, user_id=sample.viewer_id, article_id=sample.article_id)

    return run


# What a query needs done before it in its transaction, run before it is explained: a plan
# judged without it would charge the query for work its request has already done (an
# article's row is deleted after its favorites, notifications and comments are released), or
# would find nothing to do at one size and a row at another (a favorite to remove).
PRELUDES: dict[str, Callable[[Sample], Prelude]] = {
    "delete-article": _article_released,
    "delete-favorite": _favorited,
}


def prelude_for(name: str, sample: Sample) -> Prelude | None:
    make = PRELUDES.get(name)
    return None if make is None else make(sample)


def request_queries(registry: Mapping[str, Query]) -> list[str]:
    """The named queries of `registry` a request can run (not the counters' maintenance).

    The caller hands over a registry that holds every domain's queries
    (`brisk.services.all_queries()`): this module knows the parameters, not the domains."""
    return sorted(set(registry) - MAINTENANCE_QUERIES)
