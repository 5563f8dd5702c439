"""Helpers for integration tests: register users and talk to the API as them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.services import Services
from brisk.settings import Settings
from tests.conftest import TABLES

pytestmark = pytest.mark.integration


@contextmanager
def database_calls(services: Services) -> Iterator[Counter[str]]:
    """The named queries the block runs, counted."""
    counts: Counter[str] = Counter()

    def observe(name: str, _seconds: float) -> None:
        counts[name] += 1

    services.db.observers.append(observe)
    try:
        yield counts
    finally:
        services.db.observers.remove(observe)


@dataclass
class ApiUser:
    username: str
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


class Api:
    """Thin wrapper that registers users and checks the RealWorld error envelope."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, username: str, password: str = "password123") -> ApiUser:
        email = f"{username}@example.com"
        body = {"user": {"username": username, "email": email, "password": password}}
        response = await self.client.post("/api/users", json=body)
        assert response.status_code == 201, response.text
        return ApiUser(username, email, password, response.json()["user"]["token"])

    async def create_article(
        self, author: ApiUser, title: str, tags: list[str] | None = None
    ) -> Any:
        body = {"article": {"title": title, "description": "d", "body": "b", "tagList": tags or []}}
        response = await self.client.post("/api/articles", json=body, headers=author.auth)
        assert response.status_code == 201, response.text
        return response.json()["article"]

    async def follow(self, follower: ApiUser, username: str) -> None:
        response = await self.client.post(f"/api/profiles/{username}/follow", headers=follower.auth)
        assert response.status_code == 200, response.text

    async def favorite(self, user: ApiUser, slug: str) -> None:
        response = await self.client.post(f"/api/articles/{slug}/favorite", headers=user.auth)
        assert response.status_code == 200, response.text

    async def comment(self, author: ApiUser, slug: str, body: str = "c") -> Any:
        response = await self.client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": body}}, headers=author.auth
        )
        assert response.status_code == 200, response.text
        return response.json()["comment"]


# (author, tag) pairs whose stored total (migration 0014) differs from the links, or links that
# lost their article's author: (kind, name) rows, none when the counters are right.
AUTHOR_TAG_MISMATCHES = """
SELECT 'author-tag', u.username || '/' || t.name FROM users u CROSS JOIN tags t
WHERE coalesce((SELECT c.articles_count FROM author_tag_counts c
                WHERE c.author_id = u.id AND c.tag_id = t.id), 0)
   <> (SELECT count(*) FROM article_tags x WHERE x.author_id = u.id AND x.tag_id = t.id)
UNION ALL
SELECT 'link-author', a.slug FROM article_tags x JOIN articles a ON a.id = x.article_id
WHERE x.author_id <> a.author_id
"""


# Favorites that lost their article's author (migration 0017): (kind, slug) rows.
FAVORITE_AUTHOR_MISMATCHES = """
SELECT 'favorite-author', a.slug FROM favorites f JOIN articles a ON a.id = f.article_id
WHERE f.author_id <> a.author_id
"""

# A favorite's links to its article's tags (migration 0018) missing or left over, and rows
# naming an article that is gone (no foreign key holds them: migration 0019): (kind, id) rows.
FAVORITE_TAG_MISMATCHES = """
SELECT 'favorite-tag', w.user_id || '/' || w.tag_id || '/' || w.article_id FROM (
    (SELECT f.user_id, x.tag_id, f.article_created_at, f.article_id
     FROM favorites f JOIN article_tags x ON x.article_id = f.article_id
     EXCEPT ALL
     SELECT user_id, tag_id, article_created_at, article_id FROM favorite_tags)
    UNION ALL
    (SELECT user_id, tag_id, article_created_at, article_id FROM favorite_tags
     EXCEPT ALL
     SELECT f.user_id, x.tag_id, f.article_created_at, f.article_id
     FROM favorites f JOIN article_tags x ON x.article_id = f.article_id)
) w
"""
ORPHANS = """
SELECT 'orphan-' || o.kind, o.article_id::text FROM (
    SELECT 'favorite', article_id FROM favorites
    UNION ALL SELECT 'comment', article_id FROM comments
    UNION ALL SELECT 'notification', article_id FROM notifications WHERE article_id IS NOT NULL
) o (kind, article_id)
WHERE NOT EXISTS (SELECT FROM articles a WHERE a.id = o.article_id)
"""

# Readers whose stored feed total (migration 0015) differs from the articles of the authors
# they follow: (kind, name) rows, none when the counters are right.
FEED_MISMATCHES = """
SELECT 'feed', u.username FROM users u
WHERE coalesce((SELECT c.articles_count FROM feed_counts c WHERE c.user_id = u.id), 0)
   <> (SELECT count(*) FROM follows fo JOIN articles a ON a.author_id = fo.followee_id
       WHERE fo.follower_id = u.id)
"""


def assert_error(response: httpx.Response, status: int) -> list[str]:
    """The response is `status` in RealWorld's error format with at least one message."""
    assert response.status_code == status, response.text
    messages = response.json()["errors"]["body"]
    assert isinstance(messages, list)
    assert messages
    assert all(isinstance(m, str) and m for m in messages)
    return messages


async def table_counts(db: asyncpg.Connection) -> dict[str, int]:
    """Row counts of every table, to prove a rejected request changed nothing."""
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def quick_user(db: asyncpg.Connection, services: Services, username: str) -> ApiUser:
    """A user straight in the table with a real token: no ~0.4 s argon2 hash per test.

    The password hash is not a valid argon2 hash, so this user can never log in; the
    tests here only need a token.
    """
    email = f"{username}@example.com"
    user_id = await db.fetchval(
        "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x') RETURNING id",
        username,
        email,
    )
    return ApiUser(username, email, "", services.tokens.issue(user_id))


async def snapshot(
    db: asyncpg.Connection,
) -> tuple[dict[str, int], dict[str, list[tuple[Any, ...]]]]:
    """Row counts and every row of every table: a rejected request must leave both as they were
    (counts alone would miss an UPDATE)."""
    rows = {
        t: [tuple(r) for r in await db.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES
    }
    return await table_counts(db), rows


async def rejected(
    db: asyncpg.Connection,
    client: httpx.AsyncClient,
    status: int,
    method: str,
    url: str,
    **kwargs: Any,
) -> list[str]:
    """Send the request; it must be refused with `status` in the error format and change nothing."""
    before = await snapshot(db)
    messages = assert_error(await client.request(method, url, **kwargs), status)
    assert await snapshot(db) == before
    return messages


# Two instances' L1 entries outlive every test: only eviction messages keep them fresh.
LONG_L1_TTL = 600.0
LEASE_WAIT_SECONDS = 10.0


@dataclass
class Instance:
    name: str
    client: httpx.AsyncClient
    services: Services
    loads: Counter[str] = field(default_factory=Counter)


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[Instance, Instance]]:
    """Two app instances (as two processes would be), each with its own L1."""
    # The lease wait is long here: one load overall holds while the lease holder finishes
    # within it, and 500 requests in one event loop on a busy 2-core machine can take a while.
    cache = settings.cache.model_copy(
        update={"l1_ttl_seconds": LONG_L1_TTL, "lease_wait_seconds": LEASE_WAIT_SECONDS}
    )
    tuned = settings.model_copy(update={"cache": cache})
    instances = []
    app_a, app_b = create_app(tuned), create_app(tuned)
    async with LifespanManager(app_a), LifespanManager(app_b):
        for name, app in (("A", app_a), ("B", app_b)):
            services: Services = app.state.services
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://brisk.test")
            instance = Instance(name, client, services)

            def count(query: str, _seconds: float, loads: Counter[str] = instance.loads) -> None:
                loads[query] += 1

            services.db.observers.append(count)
            instances.append(instance)
        for instance in instances:
            assert await instance.services.cache._bus.wait_subscribed(5)  # type: ignore[union-attr]
        # The tables were just emptied behind the cache's back (tests/conftest.py).
        await instances[0].services.cache.clear()
        try:
            yield instances[0], instances[1]
        finally:
            for instance in instances:
                await instance.client.aclose()


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
