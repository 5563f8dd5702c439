"""A process that reads nothing through the cache (BRISK_CACHE__ENABLED=false, set per process)
still makes stale what its writes change, in every process that does read through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.settings import Settings
from tests.integration.conftest import Api


@pytest.fixture
async def cache_off(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second instance on the same database, Redis and namespace, its own reads uncached."""
    off = settings.model_copy(
        update={"cache": settings.cache.model_copy(update={"enabled": False})}
    )
    app = create_app(off)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as client:
            yield client


async def test_its_writes_reach_the_caching_instances(
    client: httpx.AsyncClient, cache_off: httpx.AsyncClient, api: Api
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "cached", ["x"]))["slug"]
    url = f"/api/articles/{slug}"
    for _ in range(2):  # cached in L2 and in this instance's L1
        assert (await client.get(url)).json()["article"]["description"] == "d"
    updated = await cache_off.put(
        url, json={"article": {"description": "changed"}}, headers=writer.auth
    )
    assert updated.status_code == 200
    # At once, not after a TTL: the writer sent the invalidation itself, after its commit.
    assert (await client.get(url)).json()["article"]["description"] == "changed"


async def test_its_password_change_revokes_tokens_everywhere(
    client: httpx.AsyncClient, cache_off: httpx.AsyncClient, api: Api
) -> None:
    user = await api.register("reader", password="first-password")
    for url in ("/api/user", "/api/dashboard", "/api/dashboard"):  # the last from the fast path
        assert (await client.get(url, headers=user.auth)).status_code == 200
    changed = await cache_off.put(
        "/api/user", json={"user": {"password": "second-password"}}, headers=user.auth
    )
    assert changed.status_code == 200
    for url in ("/api/user", "/api/dashboard"):
        assert (await client.get(url, headers=user.auth)).status_code == 401, url
