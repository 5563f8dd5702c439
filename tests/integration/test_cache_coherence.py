"""The cache across two app instances sharing one PostgreSQL and one Redis: never stale after an
acknowledged write on the writing instance, stale on the other only for the eviction delay, one
load per cold key under a stampede, and the stale-set race closed by the lease."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from brisk.cache import Key
from brisk.cache.bus import HEARTBEAT_SECONDS
from brisk.overlay import body_of
from brisk.services import Services
from tests.integration.conftest import ApiUser, Instance, quick_user

# The documented bound on cross-instance staleness (docs/CACHE.md): an eviction arrives within
# the pub/sub delay; a subscription that went silent is noticed after three missed heartbeats
# and the whole L1 is flushed. L1 entries in these tests live far longer than this bound, so
# only the eviction messages can keep the second instance fresh.
STALENESS_BOUND_SECONDS = 3 * HEARTBEAT_SECONDS


async def _author_with_articles(
    db: asyncpg.Connection, services: Services, client: httpx.AsyncClient, n: int
) -> tuple[ApiUser, list[str]]:
    author = await quick_user(db, services, "writer")
    slugs = []
    for i in range(n):
        body = {"article": {"title": f"a{i}", "description": "v0", "body": "b", "tagList": ["t"]}}
        response = await client.post("/api/articles", json=body, headers=author.auth)
        assert response.status_code == 201, response.text
        slugs.append(response.json()["article"]["slug"])
    return author, slugs


@dataclass(frozen=True)
class Ack:
    at: float
    version: int
    instance: str


@dataclass(frozen=True)
class Read:
    started: float
    version: int
    instance: str


def _version(description: str) -> int:
    return int(description.removeprefix("v"))


async def test_randomized_readers_and_writers_on_two_instances(
    pair: tuple[Instance, Instance], db: asyncpg.Connection
) -> None:
    a, b = pair
    author, slugs = await _author_with_articles(db, a.services, a.client, 4)
    rng = random.Random(20261127)
    acks: dict[str, list[Ack]] = {slug: [] for slug in slugs}
    reads: dict[str, list[Read]] = {slug: [] for slug in slugs}
    operations = Counter[str]()
    statuses = Counter[int]()
    total_ops = 10_000
    writes_per_article = 60

    async def writer(slug: str) -> None:
        # One writer per article, so its versions are acknowledged in order.
        for version in range(1, writes_per_article + 1):
            target = rng.choice(pair)
            body = {"article": {"description": f"v{version}"}}
            response = await target.client.put(
                f"/api/articles/{slug}", json=body, headers=author.auth
            )
            statuses[response.status_code] += 1
            acks[slug].append(Ack(time.monotonic(), version, target.name))
            operations["write"] += 1
            await asyncio.sleep(rng.uniform(0, 0.01))

    async def reader() -> None:
        while sum(operations.values()) < total_ops:
            target = rng.choice(pair)
            started = time.monotonic()
            if rng.random() < 0.5:
                slug = rng.choice(slugs)
                response = await target.client.get(f"/api/articles/{slug}")
                statuses[response.status_code] += 1
                article = response.json()["article"]
                reads[slug].append(Read(started, _version(article["description"]), target.name))
                operations["article"] += 1
            else:
                response = await target.client.get("/api/articles?tag=t&limit=10")
                statuses[response.status_code] += 1
                for article in response.json()["articles"]:
                    version = _version(article["description"])
                    reads[article["slug"]].append(Read(started, version, target.name))
                operations["list"] += 1

    async with asyncio.timeout(300):  # a guard against a hang, not a speed check
        await asyncio.gather(*(writer(s) for s in slugs), *(reader() for _ in range(12)))

    assert sum(operations.values()) >= total_ops
    assert set(statuses) == {200}, statuses
    stale_same, stale_beyond_bound, worst_lag = 0, 0, 0.0
    for slug in slugs:
        for read in reads[slug]:
            before = [ack for ack in acks[slug] if ack.at < read.started]
            same = [ack.version for ack in before if ack.instance == read.instance]
            if same and read.version < max(same):
                stale_same += 1
            missed = [ack for ack in before if ack.version > read.version]
            if missed:
                lag = read.started - min(ack.at for ack in missed)
                worst_lag = max(worst_lag, lag)
                if lag > STALENESS_BOUND_SECONDS:
                    stale_beyond_bound += 1
    assert stale_same == 0
    assert stale_beyond_bound == 0, f"a read {worst_lag:.3f} s after a write missed it"
    # The cache did its job: most reads never reached PostgreSQL.
    article_loads = a.loads["get-article-by-slug"] + b.loads["get-article-by-slug"]
    assert article_loads < operations["article"] / 2


async def test_cold_hot_key_is_loaded_once_across_instances(
    pair: tuple[Instance, Instance], db: asyncpg.Connection
) -> None:
    a, b = pair
    _, (slug,) = await _author_with_articles(db, a.services, a.client, 1)
    # Cold: nobody has read it. (Not by invalidating it here: that eviction would reach B
    # during the stampede and rightly detach B's load, so B's later readers load anew.)
    key = a.services.cache.keys.article(slug)
    assert await a.services.redis.get(key.name) is None  # type: ignore[union-attr]
    a.loads.clear()
    b.loads.clear()

    responses = await asyncio.gather(
        *(inst.client.get(f"/api/articles/{slug}") for inst in (a, b) for _ in range(250))
    )

    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert a.loads["get-article-by-slug"] <= 1
    assert b.loads["get-article-by-slug"] <= 1
    assert a.loads["get-article-by-slug"] + b.loads["get-article-by-slug"] == 1


async def _hold_store(cache: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the next loader of `cache` stop between its load and its store."""
    loaded, release = asyncio.Event(), asyncio.Event()

    async def hook(_key: Key) -> None:
        cache.before_store = None
        loaded.set()
        await release.wait()

    cache.before_store = hook
    return loaded, release


@pytest.mark.parametrize("reader_on", ["same", "other"])
async def test_stale_set_race_never_stores_the_old_value(
    pair: tuple[Instance, Instance], db: asyncpg.Connection, reader_on: str
) -> None:
    a, b = pair
    reader = a if reader_on == "same" else b
    author, (slug,) = await _author_with_articles(db, a.services, a.client, 1)
    loaded, release = await _hold_store(reader.services.cache)

    # 1. A reader misses, loads the old row, and is held before it stores it.
    slow_read = asyncio.create_task(reader.client.get(f"/api/articles/{slug}"))
    await asyncio.wait_for(loaded.wait(), 10)
    # 2. A writer commits and invalidates; the write is acknowledged.
    body = {"article": {"description": "new"}}
    write = await a.client.put(f"/api/articles/{slug}", json=body, headers=author.auth)
    assert write.status_code == 200
    # 3. The reader resumes and tries to store what it loaded before the write.
    release.set()
    old = await slow_read
    assert old.json()["article"]["description"] == "v0"  # it began before the write: fine

    # The old value landed nowhere: not in Redis (where the writer's refill may have stored
    # the new one), not in either L1.
    key = a.services.cache.keys.article(slug)
    await a.services.cache.settle()
    stored = await a.services.redis.get(key.name)  # type: ignore[union-attr]
    if stored is not None:
        assert orjson.loads(body_of(stored))["article"]["description"] == "new"
    for instance in pair:
        for _ in range(2):  # the first read loads and stores, the second is a hit
            fresh = await instance.client.get(f"/api/articles/{slug}")
            assert fresh.json()["article"]["description"] == "new"


async def test_each_viewer_sees_only_their_own_flags(
    pair: tuple[Instance, Instance], db: asyncpg.Connection
) -> None:
    a, b = pair
    _, (slug,) = await _author_with_articles(db, a.services, a.client, 1)
    fan = await quick_user(db, a.services, "fan")
    stranger = await quick_user(db, a.services, "stranger")
    assert (await a.client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)).is_success
    assert (await a.client.post("/api/profiles/writer/follow", headers=fan.auth)).is_success

    async def seen(instance: Instance, viewer: ApiUser | None) -> tuple[bool, bool, bool]:
        headers = viewer.auth if viewer else {}
        article = (await instance.client.get(f"/api/articles/{slug}", headers=headers)).json()
        listed = (await instance.client.get("/api/articles", headers=headers)).json()
        profile = (await instance.client.get("/api/profiles/writer", headers=headers)).json()
        card = listed["articles"][0]
        assert card["favorited"] == article["article"]["favorited"]
        assert card["author"]["following"] == article["article"]["author"]["following"]
        return (
            article["article"]["favorited"],
            article["article"]["author"]["following"],
            profile["profile"]["following"],
        )

    # Every order of viewers and instances, twice, so each is served from a warm cache too.
    checks: list[Callable[[], Awaitable[None]]] = []
    for instance in (a, b, b, a):
        for viewer, expected in ((fan, True), (stranger, False), (None, False)):

            async def check(i: Instance = instance, v: Any = viewer, e: bool = expected) -> None:
                assert await seen(i, v) == (e, e, e)

            checks.append(check)
    for check in checks:
        await check()
    assert (await a.client.get(f"/api/articles/{slug}")).json()["article"]["favoritesCount"] == 1
