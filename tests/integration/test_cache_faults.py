"""The cache fails open: with its Redis killed or frozen mid-run every request is still answered
from PostgreSQL, without a timeout per request once the breaker is open, and caching resumes by
itself when Redis is back. Runs its own redis-server (never the machine's)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.services import Services
from brisk.settings import CacheSettings
from tests.conftest import CACHE_NAMESPACE, make_settings
from tests.redis_servers import RedisFleet, fleet_in, free_port

# Hang guards, not speed checks: with Redis gone a request may at worst wait for the socket
# timeout (0.25 s) a few times before the breaker opens; anything near this means it hung.
REQUEST_GUARD_SECONDS = 2.0
RECOVERY_GUARD_SECONDS = 15.0


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[RedisFleet, int]]:
    with fleet_in(tmp_path) as fleet:
        port = free_port()
        fleet.start(port, "--save", "", "--appendonly", "no")
        yield fleet, port


@pytest.fixture
async def app_on_own_redis(
    own_redis: tuple[RedisFleet, int], database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    _, port = own_redis
    settings = make_settings(
        database_url,
        f"redis://127.0.0.1:{port}/0",
        cache=CacheSettings(namespace=f"{CACHE_NAMESPACE}-faults", breaker_reset_seconds=0.2),
    )
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as client:
            yield client, app.state.services


async def _until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + RECOVERY_GUARD_SECONDS
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {RECOVERY_GUARD_SECONDS} s"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("fault", ["killed", "frozen"])
async def test_redis_down_mid_run_then_back(
    app_on_own_redis: tuple[httpx.AsyncClient, Services],
    own_redis: tuple[RedisFleet, int],
    fault: str,
) -> None:
    client, services = app_on_own_redis
    fleet, port = own_redis
    cache = services.cache
    results: Counter[str] = Counter()
    l2: Counter[str] = Counter()
    cache.observers.append(lambda layer, _f, result, _s: l2.update([f"{layer}:{result}"]))

    author = (await client.post("/api/users", json=_user("writer"))).json()["user"]
    auth = {"Authorization": f"Token {author['token']}"}
    article = {"article": {"title": "t", "description": "d0", "body": "b", "tagList": ["x"]}}
    slug = (await client.post("/api/articles", json=article, headers=auth)).json()["article"][
        "slug"
    ]
    urls = [f"/api/articles/{slug}", "/api/articles?tag=x", "/api/profiles/writer", "/api/tags"]

    async def sweep(rounds: int) -> float:
        worst = 0.0
        for _ in range(rounds):
            for url in urls:
                started = time.monotonic()
                response = await client.get(url)
                worst = max(worst, time.monotonic() - started)
                results[f"{response.status_code}"] += 1
        return worst

    await sweep(3)
    assert await cache._redis.get(cache.keys.article(slug).name) is not None  # type: ignore[union-attr]

    proc = fleet.procs[port]
    if fault == "killed":
        fleet.kill(port)
    else:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        worst = await sweep(40)
        # A write while Redis is away: its invalidation is kept and replayed later.
        changed = {"article": {"description": "d1"}}
        response = await client.put(f"/api/articles/{slug}", json=changed, headers=auth)
        assert response.status_code == 200
        assert (await client.get(f"/api/articles/{slug}")).json()["article"]["description"] == "d1"
        # L1 holds every answer here, list tokens included (ADR 0020), until the silent
        # subscription is noticed: empty it, so these reads need Redis and must skip it.
        cache.local.clear()
        worst = max(worst, await sweep(10))
        assert cache.breaker_open
        bypassed = l2["l2:bypass"]
    finally:
        if fault == "killed":
            fleet.start(port, "--save", "", "--appendonly", "no")
        else:
            os.kill(proc.pid, signal.SIGCONT)

    assert set(results) == {"200"}, results
    assert worst < REQUEST_GUARD_SECONDS
    assert bypassed > 0  # once open, requests skipped Redis instead of waiting on it

    await _until(lambda: not cache.breaker_open, "the breaker closes")
    await _until(lambda: cache.local.coherent, "the eviction subscription is back")
    await sweep(2)
    # Caching resumed by itself: values are in Redis again, and the write is visible.
    assert await cache._redis.get(cache.keys.article(slug).name) is not None  # type: ignore[union-attr]
    for _ in range(2):
        body = (await client.get(f"/api/articles/{slug}")).json()
        assert body["article"]["description"] == "d1"
    assert set(results) == {"200"}, results


def _user(name: str) -> dict[str, dict[str, str]]:
    return {"user": {"username": name, "email": f"{name}@example.com", "password": "password123"}}
