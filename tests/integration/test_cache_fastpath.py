"""Cached GETs are answered from L1 before routing, with the same bytes the full path gives;
everything else goes the full way."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from brisk.cache import Key
from brisk.observability.middleware import TelemetryMiddleware
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


async def test_a_hit_counts_and_logs_itself_outside_the_telemetry_middleware(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADR 0028: with the default Server-Timing (`total`) the fast path is outermost; its
    answers carry the same id and timing headers and are counted the same, and only what it
    hands on enters the middleware (timed from the fast path's start)."""
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "outside", ["x"]))["slug"]
    path = f"/api/articles/{slug}"
    assert (await client.get(path)).status_code == 200  # fills L1
    entered: Counter[str] = Counter()
    original = TelemetryMiddleware.__call__

    async def counted(self: TelemetryMiddleware, scope: Any, receive: Any, send: Any) -> None:
        entered[scope["path"]] += 1
        await original(self, scope, receive, send)

    monkeypatch.setattr(TelemetryMiddleware, "__call__", counted)
    labels = {
        "http_request_method": "GET",
        "http_route": "/api/articles/{slug}",
        "http_response_status_code": "200",
    }

    async def answered() -> float:
        scrape = (await client.get("/metrics")).text
        for family in text_string_to_metric_families(scrape):
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels == labels:
                    return sample.value
        return 0.0

    before = await answered()
    mine = await client.get(path, headers={"x-request-id": "look-me-up-1"})
    ours = await client.get(path)
    assert mine.status_code == ours.status_code == 200
    assert mine.headers["x-request-id"] == "look-me-up-1"
    assert ours.headers["x-request-id"] != mine.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", ours.headers["x-request-id"])
    assert re.fullmatch(r"app;dur=\d+\.\d{3}", ours.headers["server-timing"])
    assert await answered() == before + 2
    assert entered[path] == 0, "a hit never entered the telemetry middleware"
    missing = await client.get("/api/articles/no-such-article")
    assert missing.status_code == 404
    assert entered["/api/articles/no-such-article"] == 1
    assert re.fullmatch(r"app;dur=\d+\.\d{3}", missing.headers["server-timing"])
