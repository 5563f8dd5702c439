"""Read replicas and read-your-writes (ADR 0012), made observable: the "replica" here is a second
database that never receives the primary's writes (a replica infinitely behind, but reporting
no lag), opened read-only, so every read that reaches it shows, and a write sent to it fails.

The real thing -- streaming replication, measured lag, PgBouncer -- runs in tests/cluster.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.api.consistency import token_claims
from brisk.app import create_app
from brisk.db.queries import REGISTRY, reads_only
from brisk.db.replicas import Replicas
from brisk.services import Services
from tests.conftest import create_scratch_database, drop_database, make_settings

pytestmark = pytest.mark.integration

# Short windows so the tests wait little (the lag bound stays loose enough that a busy test
# machine's event-loop stalls do not take the replica out of use).
WINDOW = 1.2
DB = {
    "replica_max_lag_seconds": 1.0,
    "replica_poll_seconds": 0.05,
    "read_your_writes_seconds": WINDOW,
}
AppFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, Services]]]


@pytest.fixture(scope="module")
async def databases(servers: tuple[str, str]) -> AsyncIterator[tuple[str, str]]:
    admin = servers[0]
    primary = await create_scratch_database(admin, "brisk_primary")
    behind = await create_scratch_database(admin, "brisk_behind")
    yield primary, behind
    await drop_database(admin, primary)
    await drop_database(admin, behind)


@pytest.fixture
def brisk_app(databases: tuple[str, str], servers: tuple[str, str]) -> AppFactory:
    primary, behind = databases
    namespace = f"brisk-test-{secrets.token_hex(4)}"  # one per test, shared by its instances

    @asynccontextmanager
    async def start(
        replica_urls: list[str] | None = None, cache: bool = False
    ) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
        settings = make_settings(
            primary,
            servers[1],
            database_replica_urls=replica_urls
            if replica_urls is not None
            else [f"{behind}?default_transaction_read_only=on"],
            db=DB,
            # Off unless asked: the cache would answer some reads itself.
            cache={"enabled": cache, "namespace": namespace},
        )
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as c:
                yield c, app.state.services

    return start


async def register(client: httpx.AsyncClient) -> dict[str, str]:
    name = f"u{secrets.token_hex(5)}"
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": "pw-123456"}}
    response = await client.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}


async def past_window() -> None:
    # A new token counts as a write for the window plus up to 1 s (`iat` is whole seconds).
    await asyncio.sleep(WINDOW + 1.2)


async def test_a_writer_reads_the_primary_for_the_window_then_replicas(
    brisk_app: AppFactory,
) -> None:
    async with brisk_app() as (client, services):
        assert services.db.replicas is not None
        auth = await register(client)
        # A brand-new token: the user exists only on the primary, and is read there.
        assert (await client.get("/api/user", headers=auth)).status_code == 200
        await past_window()
        # Now a lag-tolerant read: it goes to the replica, which never got this user.
        assert (await client.get("/api/user", headers=auth)).status_code == 404

        article = {"article": {"title": "t", "description": "d", "body": "b", "tagList": []}}
        created = await client.post("/api/articles", json=article, headers=auth)
        assert created.status_code == 201, created.text
        slug = created.json()["article"]["slug"]
        # The writer sees their write at once (and the article's author: themselves)...
        mine = await client.get(f"/api/articles/{slug}", headers=auth)
        assert mine.status_code == 200, mine.text
        assert (await client.get("/api/user", headers=auth)).status_code == 200
        # ...anyone else reads a replica, which may be behind (here: forever).
        assert (await client.get(f"/api/articles/{slug}")).status_code == 404
        await past_window()
        assert (await client.get(f"/api/articles/{slug}", headers=auth)).status_code == 404


async def test_the_mark_is_shared_through_redis_by_every_instance(
    brisk_app: AppFactory,
) -> None:
    async with brisk_app() as (one, _), brisk_app() as (other, _):
        auth = await register(one)
        await past_window()
        follow = await one.post(f"/api/profiles/{'nobody'}/follow", headers=auth)
        assert follow.status_code == 404  # a write attempt marks the writer all the same
        # The other instance never saw the request, yet keeps this user on the primary.
        assert (await other.get("/api/user", headers=auth)).status_code == 200
        await past_window()
        assert (await other.get("/api/user", headers=auth)).status_code == 404


async def test_a_replica_that_is_down_sends_reads_to_the_primary(
    brisk_app: AppFactory, databases: tuple[str, str]
) -> None:
    dead = "postgresql://postgres@127.0.0.1:1/nothing"
    async with brisk_app(replica_urls=[dead]) as (client, services):
        auth = await register(client)
        await past_window()
        assert (await client.get("/api/user", headers=auth)).status_code == 200
        assert (await client.get("/api/articles")).status_code == 200
        replicas = services.db.replicas
        assert replicas is not None
        assert replicas.pick() is None


async def test_a_replica_is_used_only_within_the_lag_bound(brisk_app: AppFactory) -> None:
    async with brisk_app() as (client, services):
        replicas = services.db.replicas
        assert isinstance(replicas, Replicas)
        assert replicas.pick() is not None
        # Seen as far behind (as if its replay stalled): out of use until it catches up.
        replica = replicas.replicas[0]
        replica.caught_up_at -= 10
        assert replicas.pick() is None
        auth = await register(client)
        await past_window()
        # The next poll finds it current again (this "replica" is not in recovery).
        assert replicas.pick() is not None
        assert (await client.get("/api/user", headers=auth)).status_code == 404


async def test_cache_fills_read_the_primary(brisk_app: AppFactory) -> None:
    """A value stored in the cache is what every later reader gets: it must not come from a
    replica that has not replayed the write (here: never will)."""
    async with brisk_app(cache=True) as (client, _):
        auth = await register(client)
        article = {"article": {"title": "t", "description": "d", "body": "b", "tagList": []}}
        created = await client.post("/api/articles", json=article, headers=auth)
        slug = created.json()["article"]["slug"]
        await past_window()
        # Anonymous and past the window: a cleared read, yet the cache loads from the primary.
        for _ in range(2):
            response = await client.get(f"/api/articles/{slug}")
            assert response.status_code == 200, response.text
        # The viewer's flags are cached too (their favorites set): filled from the primary.
        favorite = await client.post(f"/api/articles/{slug}/favorite", headers=auth)
        assert favorite.json()["article"]["favorited"] is True  # the writer, on the primary
        await past_window()
        seen = (await client.get(f"/api/articles/{slug}", headers=auth)).json()["article"]
        assert (seen["favoritesCount"], seen["favorited"]) == (1, True)
        # What is not cached -- a list filtered by author -- still reads the replica, which
        # never replayed the article.
        author = created.json()["article"]["author"]["username"]
        listed = (await client.get(f"/api/articles?author={author}", headers=auth)).json()
        assert listed["articlesCount"] == 0


def test_only_statements_that_write_nothing_count_as_reads() -> None:
    writes = {name for name, query in REGISTRY.items() if not query.read_only}
    assert {"create-article", "get-article-for-update", "mark-notifications-read"} <= writes
    assert REGISTRY["get-article-by-slug"].read_only
    assert not reads_only("WITH x AS (DELETE FROM t RETURNING id) SELECT id FROM x")
    assert not reads_only("SELECT id FROM t FOR NO KEY UPDATE")
    assert not reads_only("SELECT nextval('s')")
    assert reads_only("-- a comment\nSELECT updated_at FROM articles")


def test_routing_claims_come_from_the_token_without_trusting_it() -> None:
    def scope(header: bytes) -> dict[str, Any]:
        return {"headers": [(b"authorization", header)]}

    token = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImlhdCI6MTAwfQ.sig"
    assert token_claims(scope(b"Token " + token)) == (42, 100.0)
    assert token_claims(scope(b"Token not-a-jwt")) == (None, None)
    assert token_claims({"headers": []}) == (None, None)
