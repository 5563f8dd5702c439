"""`brisk seed`: deterministic, skewed, consistent with the app's counters, safe to re-run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import typer
from argon2 import PasswordHasher
from typer.testing import CliRunner

from brisk.lab import seed as seed_module
from brisk.lab.seed import SEED_PASSWORD, AlreadySeededError, Scale, seed_command, seed_database
from tests.conftest import create_scratch_database, drop_database
from tests.integration.conftest import (
    AUTHOR_TAG_MISMATCHES,
    FAVORITE_AUTHOR_MISMATCHES,
    FAVORITE_TAG_MISMATCHES,
    FEED_MISMATCHES,
    ORPHANS,
)

pytestmark = pytest.mark.integration

TINY = Scale(
    users=50,
    articles=300,
    follows_per_user=5,
    favorites_per_article=4,
    comments_per_article=2,
    tags=20,
    past_follows_per_user=3,
)
TABLES = (
    "users",
    "tags",
    "articles",
    "follows",
    "article_tags",
    "favorites",
    "comments",
    "notifications",
    "favorite_tags",
)


async def _keep_foreign_key_checks(_conn: asyncpg.Connection) -> bool:
    return False


async def fingerprints(url: str) -> dict[str, str]:
    """md5 of every row of every table (ids included), in a fixed order."""
    conn = await asyncpg.connect(url)
    try:
        return {
            table: await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                f" FROM {table} t"
            )
            for table in (*TABLES, "counters")
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def seeded(servers: tuple[str, str]) -> AsyncIterator[tuple[str, str, dict[str, int]]]:
    """Two databases, same seed: one loaded the fast way, one with every FK trigger firing."""
    admin_url = servers[0]
    fast = await create_scratch_database(admin_url, "brisk_seed")
    checked = await create_scratch_database(admin_url, "brisk_seed")
    try:
        counts = await seed_database(fast, TINY, seed=7)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(seed_module, "_defer_foreign_key_checks", _keep_foreign_key_checks)
            assert await seed_database(checked, TINY, seed=7) == counts
        yield fast, checked, counts
    finally:
        await drop_database(admin_url, fast)
        await drop_database(admin_url, checked)


@pytest.fixture
async def db(seeded: tuple[str, str, dict[str, int]]) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded[0])
    yield conn
    await conn.close()


async def test_same_seed_loads_identical_rows(seeded: tuple[str, str, dict[str, int]]) -> None:
    fast, checked, counts = seeded
    assert await fingerprints(fast) == await fingerprints(checked)
    assert counts["users"] == TINY.users
    assert counts["articles"] == TINY.articles
    assert all(counts[t] > 0 for t in TABLES)


async def test_counts_are_the_rows(
    db: asyncpg.Connection, seeded: tuple[str, str, dict[str, int]]
) -> None:
    assert {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES} == seeded[2]


async def test_ids_are_copy_order(db: asyncpg.Connection) -> None:
    # The generators put the id they computed into usernames and slugs: PostgreSQL agreed.
    for table in ("users", "tags", "articles", "comments"):
        row = await db.fetchrow(f"SELECT min(id), max(id), count(*) FROM {table}")
        assert row is not None
        assert (row[0], row[1]) == (1, row[2])
    assert (
        await db.fetchval("SELECT count(*) FROM users WHERE username !~ ('\\D' || id || '$')") == 0
    )
    assert await db.fetchval("SELECT count(*) FROM articles WHERE slug NOT LIKE '%-' || id") == 0


async def test_stored_counters_equal_real_counts(db: asyncpg.Connection) -> None:
    assert (
        await db.fetchval(
            "SELECT count(*) FROM articles a WHERE favorites_count <>"
            " (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)"
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM users u WHERE articles_count <>"
            " (SELECT count(*) FROM articles a WHERE a.author_id = u.id)"
            " OR favorited_articles_count <>"
            " (SELECT count(*) FROM favorites f WHERE f.user_id = u.id)"
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tags t WHERE articles_count <>"
            " (SELECT count(*) FROM article_tags x WHERE x.tag_id = t.id)"
        )
        == 0
    )
    assert await db.fetchval("SELECT value FROM counters WHERE name = 'articles'") == TINY.articles
    assert await db.fetch(AUTHOR_TAG_MISMATCHES) == []
    assert await db.fetchval("SELECT count(*) FROM author_tag_counts") > 0
    assert await db.fetch(FEED_MISMATCHES) == []
    assert await db.fetch(FAVORITE_AUTHOR_MISMATCHES) == []
    assert await db.fetch(FAVORITE_TAG_MISMATCHES) == []
    assert await db.fetch(ORPHANS) == []
    assert await db.fetchval("SELECT count(*) FROM feed_counts WHERE articles_count > 0") > 0


# Causes without their notification: each query must find none.
_UNNOTIFIED = (
    "SELECT count(*) FROM follows f WHERE NOT EXISTS (SELECT FROM notifications n"
    " WHERE n.kind = 'follow' AND n.actor_id = f.follower_id AND n.recipient_id = f.followee_id)",
    "SELECT count(*) FROM favorites f JOIN articles a ON a.id = f.article_id"
    " WHERE a.author_id <> f.user_id AND NOT EXISTS (SELECT FROM notifications n"
    " WHERE n.kind = 'favorite' AND n.actor_id = f.user_id AND n.article_id = f.article_id"
    " AND n.recipient_id = a.author_id)",
    "SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id"
    " WHERE a.author_id <> c.author_id AND NOT EXISTS (SELECT FROM notifications n"
    " WHERE n.kind = 'comment' AND n.comment_id = c.id AND n.actor_id = c.author_id"
    " AND n.recipient_id = a.author_id)",
)


async def test_notifications_are_what_the_write_paths_make(db: asyncpg.Connection) -> None:
    for query in _UNNOTIFIED:
        assert await db.fetchval(query) == 0, query
    total = await db.fetchval("SELECT count(*) FROM notifications")
    own = "SELECT count(*) FROM {link} x JOIN articles a ON a.id = x.article_id"
    own += " WHERE a.author_id <> x.{actor}"
    causes = await db.fetchval("SELECT count(*) FROM follows")
    causes += await db.fetchval(own.format(link="favorites", actor="user_id"))
    causes += await db.fetchval(own.format(link="comments", actor="author_id"))
    # The rest are follows undone since: their notification stays (ADR 0005).
    undone = await db.fetchval(
        "SELECT count(*) FROM notifications n WHERE kind = 'follow' AND NOT EXISTS"
        " (SELECT FROM follows f WHERE f.follower_id = n.actor_id"
        " AND f.followee_id = n.recipient_id)"
    )
    assert undone > 0
    assert total == causes + undone
    # Ids grow with time; some are read, some not, none before it happened.
    later = await db.fetchval(
        "SELECT count(*) FROM notifications a JOIN notifications b ON b.id = a.id + 1"
        " WHERE b.created_at < a.created_at"
    )
    assert later == 0
    read = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE read_at IS NULL) AS unread,"
        " count(*) FILTER (WHERE read_at < created_at) AS early FROM notifications"
    )
    assert read is not None
    assert 0 < read["unread"] < total
    assert read["early"] == 0


async def _top_decile_share(db: asyncpg.Connection, counts_sql: str) -> float:
    """Share of the total held by the top 10% of the groups counted by `counts_sql` (n)."""
    return float(
        await db.fetchval(
            f"SELECT sum(n) FILTER (WHERE d = 1)::float / sum(n)"
            f" FROM (SELECT n, ntile(10) OVER (ORDER BY n DESC) d FROM ({counts_sql}) c) x"
        )
    )


async def test_popularity_is_skewed(db: asyncpg.Connection) -> None:
    favorites = "SELECT favorites_count AS n FROM articles"
    assert await _top_decile_share(db, favorites) > 0.4
    comments = "SELECT count(*) AS n FROM comments GROUP BY article_id"
    assert await _top_decile_share(db, comments) > 0.4
    # Evenly spread, a tenth of 50 users would hold ~10-15%.
    authors = "SELECT articles_count AS n FROM users"
    assert await _top_decile_share(db, authors) > 0.25
    followers = "SELECT count(*) AS n FROM follows GROUP BY followee_id"
    assert await _top_decile_share(db, followers) > 0.25
    top_tag = await db.fetchval(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM article_tags GROUP BY tag_id) c"
    )
    assert top_tag > TINY.articles * 0.25


async def test_rows_look_real(db: asyncpg.Connection) -> None:
    for table in ("users", "articles", "comments"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE updated_at < created_at") == 0
    later = (
        "SELECT count(*) FROM {link} x JOIN articles a ON a.id = x.article_id"
        " WHERE x.created_at < a.created_at"
    )
    assert await db.fetchval(later.format(link="favorites")) == 0
    assert await db.fetchval(later.format(link="comments")) == 0
    days = await db.fetchval(
        "SELECT extract(epoch FROM max(created_at) - min(created_at)) / 86400 FROM articles"
    )
    assert 600 < days < 731
    assert await db.fetchval("SELECT count(*) FROM users WHERE email <> lower(email)") == 0
    assert await db.fetchval("SELECT avg(octet_length(body)) FROM articles") > 200
    assert await db.fetchval("SELECT count(DISTINCT password_hash) FROM users") == 1
    password_hash = await db.fetchval("SELECT password_hash FROM users LIMIT 1")
    assert PasswordHasher().verify(password_hash, SEED_PASSWORD)


async def test_foreign_key_check_catches_an_orphan(
    db: asyncpg.Connection, seeded: tuple[str, str, dict[str, int]]
) -> None:
    # The safety net of the fast path: with the triggers off, a bad id must still fail the load.
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute("SET LOCAL session_replication_role = replica")
        await db.execute(
            "INSERT INTO favorites (user_id, article_id, article_created_at, author_id)"
            " VALUES (999999, 1, now(), 1)"  # no such user
        )
        with pytest.raises(RuntimeError, match="favorites"):
            await seed_module._check(db, seeded[2], foreign_keys=True, report=lambda *_: None)
    finally:
        await tx.rollback()


async def test_rerun_refuses_without_force_and_reloads_with_it(servers: tuple[str, str]) -> None:
    admin_url = servers[0]
    url = await create_scratch_database(admin_url, "brisk_seed")
    try:
        await seed_database(url, TINY, seed=7)
        original = await fingerprints(url)

        with pytest.raises(AlreadySeededError):
            await seed_database(url, TINY, seed=7)
        app = typer.Typer()
        app.command()(seed_command)
        args = ["--scale", "XS", "--database-url", url]
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
        assert result.exit_code == 1, result.output
        assert "--force" in result.output
        assert await fingerprints(url) == original

        other = await seed_database(url, TINY, seed=8, force=True)
        assert other["users"] == TINY.users  # replaced, not doubled
        assert await fingerprints(url) != original
        await seed_database(url, TINY, seed=7, force=True)
        assert await fingerprints(url) == original  # ids restart at 1 on every reload
    finally:
        await drop_database(admin_url, url)
