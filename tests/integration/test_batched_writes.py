"""Writes whose rows are unbounded (an article's favorites, notifications and comments; an
inbox's unread backlog; what a profile edit drops from the cache) work in bounded batches,
finish the whole set, and keep the counters they release equal to real counts."""

from __future__ import annotations

from collections import Counter

import asyncpg

from brisk.articles import repository as articles
from brisk.db.counters import recount
from brisk.db.pool import Connection
from brisk.notifications import repository as notifications
from brisk.users import repository as users
from tests.integration.conftest import FAVORITE_TAG_MISMATCHES, ORPHANS

FANS = 250  # more than four batches of favorites (50 a statement)
COMMENTERS = 230

_MISMATCHED_COUNTERS = """
SELECT u.username FROM users u
WHERE u.favorited_articles_count <> (SELECT count(*) FROM favorites f WHERE f.user_id = u.id)
   OR u.unread_notifications_count
      <> (SELECT count(*) FROM notifications n WHERE n.recipient_id = u.id AND n.read_at IS NULL)
"""


async def _popular_article(db: asyncpg.Connection) -> int:
    """User 1's article tagged a and b, favorited by FANS others (with their tag links) and
    commented on by COMMENTERS, each with the notification the write paths would have
    written; the counters recounted."""
    await db.execute(
        "INSERT INTO users (username, email, password_hash)"
        " SELECT 'u' || i, 'u' || i || '@example.com', 'x' FROM generate_series(1, $1) i",
        FANS + 1,
    )
    article_id = await db.fetchval(
        "INSERT INTO articles (slug, author_id, title, description, body)"
        " VALUES ('popular', 1, 't', 'd', 'b') RETURNING id"
    )
    await db.execute(
        "INSERT INTO favorites (user_id, article_id, article_created_at, author_id)"
        " SELECT i, a.id, a.created_at, 1 FROM articles a, generate_series(2, $2) i"
        " WHERE a.id = $1",
        article_id,
        FANS + 1,
    )
    tags = ["a", "b"]
    await articles.set_tags(Connection(db, []), article_id=article_id, tags=tags, replace=False)
    await db.execute(
        "INSERT INTO favorite_tags (user_id, tag_id, article_created_at, article_id)"
        " SELECT f.user_id, at.tag_id, f.article_created_at, f.article_id"
        " FROM favorites f JOIN article_tags at ON at.article_id = f.article_id"
    )
    await db.execute(
        "INSERT INTO comments (article_id, author_id, body)"
        " SELECT $1, i, 'c' FROM generate_series(2, $2) i",
        article_id,
        COMMENTERS + 1,
    )
    await db.execute(
        "INSERT INTO notifications (recipient_id, kind, actor_id, article_id, comment_id)"
        " SELECT 1, 'favorite', user_id, article_id, NULL FROM favorites"
        " UNION ALL SELECT 1, 'comment', author_id, article_id, id FROM comments"
    )
    await recount(Connection(db, []))
    return int(article_id)


async def test_deleting_a_popular_article_removes_all_it_holds_in_batches(
    db: asyncpg.Connection,
) -> None:
    article_id = await _popular_article(db)
    statements: Counter[str] = Counter()
    conn = Connection(db, [lambda name, _seconds: statements.update([name])])
    async with db.transaction():
        await articles.delete_article(conn, article_id=article_id)

    tables = ("articles", "favorites", "favorite_tags", "comments", "notifications", "article_tags")
    for table in tables:
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await db.fetch(_MISMATCHED_COUNTERS) == []
    assert await db.fetch(ORPHANS) == []
    # Each set went a bounded batch a statement, plus the one that found nothing left.
    assert statements["unlink-favorite-tags"] == -(-FANS // 50) + 1
    assert statements["delete-article-favorites"] == -(-FANS // 50) + 1
    assert statements["delete-article-comments"] == -(-COMMENTERS // 100) + 1
    assert statements["delete-article-notifications"] == -(-(FANS + COMMENTERS) // 100) + 1
    assert statements["delete-article"] == 1


async def test_retagging_a_popular_article_moves_its_favorites_links_in_batches(
    db: asyncpg.Connection,
) -> None:
    article_id = await _popular_article(db)
    statements: Counter[str] = Counter()
    conn = Connection(db, [lambda name, _seconds: statements.update([name])])

    await articles.set_tags(conn, article_id=article_id, tags=["b", "c"], replace=True)

    assert await db.fetch(FAVORITE_TAG_MISMATCHES) == []
    tagged = (
        "SELECT count(*) FROM favorite_tags ft JOIN tags t ON t.id = ft.tag_id WHERE t.name = $1"
    )
    assert [await db.fetchval(tagged, tag) for tag in "abc"] == [0, FANS, FANS]
    assert statements["unlink-favorite-tags"] == -(-FANS // 50) + 1
    assert statements["link-favorite-tags"] == -(-FANS // 50) + 1


async def test_mark_read_up_to_marks_the_whole_backlog_in_batches(
    db: asyncpg.Connection,
) -> None:
    await _popular_article(db)
    ids = [r["id"] for r in await db.fetch("SELECT id FROM notifications ORDER BY id")]
    up_to = ids[-21]  # all but the 20 newest
    statements: Counter[str] = Counter()
    conn = Connection(db, [lambda name, _seconds: statements.update([name])])

    await notifications.mark_read_up_to(conn, recipient_id=1, up_to=up_to)

    unread = await db.fetch("SELECT id FROM notifications WHERE read_at IS NULL ORDER BY id")
    assert [r["id"] for r in unread] == ids[-20:]
    assert await db.fetchval("SELECT unread_notifications_count FROM users WHERE id = 1") == 20
    assert await db.fetch(_MISMATCHED_COUNTERS) == []
    assert statements["mark-notifications-read-up-to"] == -(-(len(ids) - 20) // 50) + 1


async def test_a_profile_edit_finds_all_its_user_wrote_in_batches(db: asyncpg.Connection) -> None:
    """User 1 wrote 310 articles and commented 230 times on 120 articles of user 2's; user 2
    wrote and commented too."""
    await db.execute(
        "INSERT INTO users (username, email, password_hash)"
        " SELECT 'u' || i, 'u' || i || '@example.com', 'x' FROM generate_series(1, 2) i"
    )
    await db.execute(  # three articles an instant: the batches' cursor breaks ties by id
        "INSERT INTO articles (slug, author_id, title, description, body, created_at)"
        " SELECT 'a' || i, 1 + i % 2, 't', 'd', 'b',"
        " '2026-01-01'::timestamptz + i / 3 * interval '1 s' FROM generate_series(1, 620) i"
    )
    await db.execute(
        "INSERT INTO comments (article_id, author_id, body)"
        " SELECT a.id, c.author, 'c' FROM generate_series(1, 230) i"
        " CROSS JOIN (VALUES (1), (2)) c(author)"
        " JOIN articles a ON a.slug = 'a' || (2 * (i % 120) + 1)"
    )
    statements: Counter[str] = Counter()
    conn = Connection(db, [lambda name, _seconds: statements.update([name])])

    authored = await users.list_authored(conn, user_id=1)

    mine = await db.fetch("SELECT id, slug FROM articles WHERE author_id = 1")
    assert sorted(authored.ids) == sorted(r["id"] for r in mine)
    assert sorted(authored.slugs) == sorted(r["slug"] for r in mine)
    commented = await db.fetch(
        "SELECT DISTINCT a.slug FROM comments c JOIN articles a ON a.id = c.article_id"
        " WHERE c.author_id = 1"
    )
    assert sorted(authored.commented) == sorted(r["slug"] for r in commented)
    assert len(commented) == 120
    assert statements["list-user-articles-batch"] == -(-len(mine) // 100) + 1
    assert statements["list-user-commented-batch"] == -(-230 // 100) + 1
