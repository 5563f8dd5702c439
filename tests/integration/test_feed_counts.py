"""The feed's total is a counter per reader (migration 0015): follows, unfollows and an
author's new and deleted articles move it in their transaction, a batch of followers at a time,
and a follow racing an article of its followee still counts that article once."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from brisk.articles import repository as articles
from brisk.db.pool import Connection
from brisk.notifications import repository as notifications
from brisk.profiles import repository as profiles
from tests.integration.conftest import FEED_MISMATCHES, Api

READERS = 130  # more than two fan-out batches (50 followers a statement)


async def _feed_total(client: httpx.AsyncClient, token: str, offset: int) -> int:
    headers = {"Authorization": f"Token {token}"}
    response = await client.get(f"/api/articles/feed?offset={offset}", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["articlesCount"])


async def test_the_feed_total_follows_every_write_that_changes_it(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    reader, ann, ben = [await api.register(n) for n in ("reader", "ann", "ben")]
    first = await api.create_article(ann, "ann 0")
    await api.create_article(ann, "ann 1")
    await api.create_article(ben, "ben 0")
    await api.follow(reader, "ann")
    await api.follow(reader, "ann")  # a repeated follow counts once
    await api.follow(reader, "ben")
    await api.create_article(ben, "ben 1")
    await client.delete(f"/api/articles/{first['slug']}", headers=ann.auth)
    # The page's own total and the count past the end (count-feed) read the same counter.
    assert await _feed_total(client, reader.token, 0) == 3
    assert await _feed_total(client, reader.token, 400) == 3
    for _ in range(2):  # a repeated unfollow takes nothing more away
        await client.delete("/api/profiles/ben/follow", headers=reader.auth)
    assert await _feed_total(client, reader.token, 0) == 1
    assert await db.fetch(FEED_MISMATCHES) == []


async def test_an_article_moves_the_total_of_every_follower_in_batches(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    ann = await api.register("ann")
    await api.create_article(ann, "before")
    author_id = await db.fetchval("SELECT id FROM users WHERE username = 'ann'")
    readers = await db.fetch(
        "INSERT INTO users (username, email, password_hash)"
        " SELECT 'r' || i, 'r' || i || '@example.com', 'x' FROM generate_series(1, $1) i"
        " RETURNING id",
        READERS,
    )
    for (reader_id,) in readers:
        assert await profiles.create_follow(
            Connection(db, []), follower_id=reader_id, followee_id=author_id
        )
    created = await api.create_article(ann, "after")
    totals = "SELECT array_agg(DISTINCT articles_count) FROM feed_counts WHERE user_id <> $1"
    assert await db.fetchval(totals, author_id) == [2]
    assert await db.fetchval("SELECT count(*) FROM feed_counts") == READERS
    await client.delete(f"/api/articles/{created['slug']}", headers=ann.auth)
    assert await db.fetchval(totals, author_id) == [1]
    assert await db.fetch(FEED_MISMATCHES) == []


async def _waits_for_a_lock(db: asyncpg.Connection, pid: int) -> bool:
    for _ in range(200):  # bounded: 10 s at most
        waits = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1"
        if await db.fetchval(waits, pid) == "Lock":
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_follow_racing_an_article_of_its_followee_counts_it_once(
    api: Api, db: asyncpg.Connection, database_url: str
) -> None:
    await api.register("ann")
    await api.register("reader")
    author_id = await db.fetchval("SELECT id FROM users WHERE username = 'ann'")
    reader_id = await db.fetchval("SELECT id FROM users WHERE username = 'reader'")
    writer = await asyncpg.connect(database_url)
    follower = await asyncpg.connect(database_url)
    try:
        publishing = writer.transaction()
        await publishing.start()
        # The article's fan-out has run and found no follower: the follow is not there yet.
        await articles.create_article(
            Connection(writer, []), slug="s", author_id=author_id, title="t", description="d",
            body="b", tags=[],
        )  # fmt: skip
        follow = asyncio.ensure_future(
            profiles.create_follow(
                Connection(follower, []), follower_id=reader_id, followee_id=author_id
            )
        )
        # The follow waits for the article's transaction, so it reads the count with it.
        assert await _waits_for_a_lock(db, follower.get_server_pid())
        await publishing.commit()
        assert await follow
    finally:
        await writer.close()
        await follower.close()
    total = "SELECT articles_count FROM feed_counts WHERE user_id = $1"
    assert await db.fetchval(total, reader_id) == 1
    assert await db.fetch(FEED_MISMATCHES) == []


async def test_two_readers_following_one_author_at_once_both_succeed(
    api: Api, db: asyncpg.Connection, database_url: str
) -> None:
    """A follow's transaction writes the followee's row after create-follow locked it (the
    inbox counter of its notification, as ProfileService.follow does): two follows of one
    author that both held a share lock on that row would each wait for the other's."""
    for name in ("ann", "r1", "r2"):
        await api.register(name)
    ids = dict(await db.fetch("SELECT username, id FROM users"))
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)

    async def follow(conn: asyncpg.Connection, reader: str) -> None:
        tx = Connection(conn, [])
        assert await profiles.create_follow(tx, follower_id=ids[reader], followee_id=ids["ann"])
        await notifications.create_follow_notification(
            tx, actor_id=ids[reader], recipient_id=ids["ann"]
        )

    try:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        first_conn = Connection(first, [])
        assert await profiles.create_follow(
            first_conn, follower_id=ids["r1"], followee_id=ids["ann"]
        )
        following = asyncio.ensure_future(follow(second, "r2"))
        # The second follow waits for the first: in create-follow, or (with a share lock
        # there) in its notification.
        assert await _waits_for_a_lock(db, second.get_server_pid())
        await notifications.create_follow_notification(
            first_conn, actor_id=ids["r1"], recipient_id=ids["ann"]
        )
        await first_tx.commit()
        await following
        await second_tx.commit()
    finally:
        await first.close()
        await second.close()
    unread = "SELECT unread_notifications_count FROM users WHERE username = 'ann'"
    assert await db.fetchval(unread) == 2
    assert await db.fetch(FEED_MISMATCHES) == []
