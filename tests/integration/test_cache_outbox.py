"""An acknowledged write is never served stale for long, whatever happens to its writer.

Two real `brisk serve` processes on one database and on a redis-server of our own: Redis is
frozen (SIGSTOP), instance A's breaker opens, an article is updated through A (200), A is
stopped (SIGTERM) or killed (SIGKILL) before it could tell Redis, and Redis is resumed. The
other instance, and A restarted, must serve the new body within the bound of docs/CACHE.md
(5 s after Redis answers again), not the pre-write body until its L2 TTL (minutes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CACHE_NAMESPACE
from tests.integration.live import Served, serve, wait_ready
from tests.redis_servers import RedisFleet, fleet_in, free_port

# The guarantee under test (docs/CACHE.md): stale reads end within this long of Redis answering.
STALE_BOUND_SECONDS = 5.0
# Not a speed check: how long the setup may take to reach a state (breaker open, ready).
SETUP_GUARD_SECONDS = 30.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[RedisFleet, int]]:
    with fleet_in(tmp_path / "redis") as fleet:
        port = free_port()
        fleet.start(port, "--save", "", "--appendonly", "no")
        yield fleet, port


def _instance(database_url: str, redis_port: int, log: Path, port: int | None = None) -> Served:
    env = {
        "BRISK_CACHE__NAMESPACE": f"{CACHE_NAMESPACE}-outbox",
        "BRISK_LIMITS__ENABLED": "false",
        "BRISK_TELEMETRY__SAMPLE_INTERVAL_SECONDS": "0.1",
    }
    return serve(database_url, f"redis://127.0.0.1:{redis_port}/0", log, env=env, port=port)


async def _until_true(check: object, what: str, within: float) -> float:
    """Poll `check` (an async callable) until it returns True; seconds it took."""
    started = time.monotonic()
    while not await check():  # type: ignore[operator]
        assert time.monotonic() - started < within, f"{what} within {within} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _description(client: httpx.AsyncClient, served: Served, slug: str) -> str:
    response = await client.get(f"{served.api}/articles/{slug}")
    assert response.status_code == 200, response.text
    return str(response.json()["article"]["description"])


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_write_outlives_its_writer(
    database_url: str, own_redis: tuple[RedisFleet, int], tmp_path: Path, stop: signal.Signals
) -> None:
    fleet, redis_port = own_redis
    a_port = free_port()
    a = _instance(database_url, redis_port, tmp_path / "a.log", a_port)
    b = _instance(database_url, redis_port, tmp_path / "b.log")
    restarted: Served | None = None
    redis_proc = fleet.procs[redis_port]
    frozen = False
    try:
        await asyncio.gather(wait_ready(a), wait_ready(b))
        async with httpx.AsyncClient(timeout=10) as client:
            user = {"username": "writer", "email": "w@example.com", "password": "password123"}
            registered = await client.post(f"{a.api}/users", json={"user": user})
            auth = {"Authorization": f"Token {registered.json()['user']['token']}"}
            article = {"title": "t", "description": "before", "body": "b", "tagList": ["x"]}
            created = await client.post(
                f"{a.api}/articles", json={"article": article}, headers=auth
            )
            slug = created.json()["article"]["slug"]
            for served in (a, b):  # in L2 (and both L1s) before Redis freezes
                assert await _description(client, served, slug) == "before"

            os.kill(redis_proc.pid, signal.SIGSTOP)
            frozen = True

            async def a_breaker_open() -> bool:
                await client.get(f"{a.api}/articles?tag=x")  # a versioned read always asks Redis
                metrics = (await client.get(f"{a.base}/metrics")).text
                return "brisk_cache_redis_breaker_open 1.0" in metrics

            await _until_true(a_breaker_open, "A's breaker opens", SETUP_GUARD_SECONDS)
            changed = {"article": {"description": "after"}}
            updated = await client.put(f"{a.api}/articles/{slug}", json=changed, headers=auth)
            assert updated.status_code == 200, updated.text
            assert await _description(client, a, slug) == "after"  # A itself reads PostgreSQL

            a.stop(stop)  # before Redis could hear of the write
            os.kill(redis_proc.pid, signal.SIGCONT)
            frozen = False

            async def b_fresh() -> bool:
                return await _description(client, b, slug) == "after"

            await _until_true(b_fresh, "the other instance serves the write", STALE_BOUND_SECONDS)

            restarted = _instance(database_url, redis_port, tmp_path / "a2.log", a_port)
            await wait_ready(restarted)
            assert await _description(client, restarted, slug) == "after"
            assert await _description(client, b, slug) == "after"
    finally:
        if frozen:
            os.kill(redis_proc.pid, signal.SIGCONT)
        for served in (a, b, restarted):
            if served is not None:
                served.stop(signal.SIGKILL if served.process.poll() is None else signal.SIGTERM)
