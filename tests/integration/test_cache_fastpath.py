"""Cached GETs are answered from L1 before routing, with the same bytes the full path gives;
everything else goes the full way."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from brisk.cache import Key
from brisk.services import Services
from tests.integration.conftest import Api, assert_error


@pytest.fixture
def routed(services: Services, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many requests reached each service read (i.e. went through FastAPI)."""
    calls: Counter[str] = Counter()
    for service, method in (
        (services.articles, "get_article"),
        (services.profiles, "get_profile"),
        (services.tags, "list_tags"),
    ):
        original = getattr(service, method)

        async def counted(*args: Any, _name: str = method, _f: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return await _f(*args, **kw)

        monkeypatch.setattr(service, method, counted)
    return calls


async def test_second_anonymous_read_skips_the_framework(
    client: httpx.AsyncClient, api: Api, routed: Counter[str]
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "fast", ["x"]))["slug"]
    for url, read in (
        (f"/api/articles/{slug}", "get_article"),
        ("/api/profiles/writer", "get_profile"),
        ("/api/tags", "list_tags"),
    ):
        first, second = await client.get(url), await client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        assert first.headers["content-type"] == second.headers["content-type"]
        assert routed[read] == 1, url  # the second never reached the route

    # A signed-in viewer's first read fills their own flag sets through the route; the next is
    # answered here, with their flags laid over the same cached bytes (ADR 0020).
    signed = [await client.get(f"/api/articles/{slug}", headers=writer.auth) for _ in range(2)]
    assert signed[0].content == signed[1].content
    assert routed["get_article"] == 2
    assert signed[1].headers["cache-control"] == "private, no-store"


async def test_a_write_reloads_what_it_changed_once(
    client: httpx.AsyncClient, api: Api, services: Services, routed: Counter[str]
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "fast"))["slug"]
    await client.get(f"/api/articles/{slug}")
    changed = {"article": {"body": "changed"}}
    assert (await client.put(f"/api/articles/{slug}", json=changed, headers=writer.auth)).is_success
    # The write dropped the entry and read it again in the background (Cache.refill): one load
    # after the write, then the fast path answers with the new body.
    await services.cache.settle()
    after = await client.get(f"/api/articles/{slug}")
    assert after.json()["article"]["body"] == "changed"
    assert routed["get_article"] == 2


async def test_what_it_must_not_answer_still_gets_the_routes_answer(
    client: httpx.AsyncClient, api: Api
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "fast"))["slug"]
    await client.get(f"/api/articles/{slug}")
    assert_error(await client.get("/api/articles/feed"), 401)
    assert_error(await client.get("/api/articles/no-such-article"), 404)
    assert_error(await client.get("/api/profiles/nobody"), 404)
    comments = await client.get(f"/api/articles/{slug}/comments")
    assert comments.json() == {"comments": []}
    assert (await client.delete(f"/api/articles/{slug}")).status_code == 401


async def test_a_viewers_cached_dashboard_skips_the_framework_and_stays_fresh(
    client: httpx.AsyncClient, api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    me, fan = await api.register("me"), await api.register("fan")
    slug = (await api.create_article(me, "mine"))["slug"]
    calls: Counter[str] = Counter()
    original = services.dashboard.get_dashboard

    async def counted(**kw: Any) -> bytes:
        calls["get_dashboard"] += 1
        return await original(**kw)

    monkeypatch.setattr(services.dashboard, "get_dashboard", counted)
    first = await client.get("/api/dashboard", headers=me.auth)
    second = await client.get("/api/dashboard", headers=me.auth)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert calls["get_dashboard"] == 1

    # Someone else's token gets their own dashboard, never mine.
    theirs = (await client.get("/api/dashboard", headers=fan.auth)).json()["dashboard"]
    assert theirs["user"]["username"] == "fan"
    # A bad token is the full path's 401, not a cached body.
    assert_error(await client.get("/api/dashboard", headers={"Authorization": "Token x"}), 401)
    assert_error(await client.get("/api/dashboard", headers={"Authorization": "Basic x"}), 401)

    # A notification for me changes my dashboard at once.
    await api.favorite(fan, slug)
    after = (await client.get("/api/dashboard", headers=me.auth)).json()["dashboard"]
    assert after["unreadCount"] == 1
    assert after["articles"][0]["favoritesCount"] == 1


async def test_a_read_that_misses_a_load_in_flight_waits_for_it_not_the_framework(
    client: httpx.AsyncClient, api: Api, services: Services, routed: Counter[str]
) -> None:
    writer, fan = await api.register("writer"), await api.register("fan")
    slug = (await api.create_article(writer, "waited", ["x"]))["slug"]
    await client.get(f"/api/articles/{slug}")
    gate, held = asyncio.Event(), asyncio.Event()

    async def hold(key: Key) -> None:
        if key.family == "article":
            held.set()
            await gate.wait()

    services.cache.before_store = hold
    try:
        await api.favorite(fan, slug)
        await held.wait()  # the write's refill of the article is loading, held before it stores
        routed.clear()
        read = asyncio.create_task(client.get(f"/api/articles/{slug}"))
        await asyncio.sleep(0.05)
        assert not read.done()  # waiting for that load, not loading again
        gate.set()
        response = await read
    finally:
        services.cache.before_store = None
    assert response.json()["article"]["favoritesCount"] == 1
    assert routed["get_article"] == 0  # answered by the fast path once the load landed
