"""Single-flight in one process: concurrent misses share one load, and cancelling the request
that started it does not cancel it for the others."""

from __future__ import annotations

import asyncio

from brisk.services import Services


async def test_cancelled_first_caller_does_not_cancel_the_shared_load(services: Services) -> None:
    cache = services.cache
    key = cache.keys.article("single-flight")
    started, release = asyncio.Event(), asyncio.Event()
    loads = 0

    async def slow_loader() -> bytes:
        nonlocal loads
        loads += 1
        started.set()
        await release.wait()
        return b'{"article":{}}'

    first = asyncio.create_task(cache.get_or_load(key, slow_loader))
    await asyncio.wait_for(started.wait(), 10)
    others = [asyncio.create_task(cache.get_or_load(key, slow_loader)) for _ in range(20)]
    await asyncio.sleep(0)
    first.cancel()
    release.set()

    assert await asyncio.gather(*others) == [b'{"article":{}}'] * 20
    assert first.cancelled()
    assert loads == 1
    # And the value was stored for the next reader, who loads nothing.
    assert await cache.get_or_load(key, slow_loader) == b'{"article":{}}'
    assert loads == 1


async def test_a_failed_load_fails_its_waiters_and_is_not_cached(services: Services) -> None:
    cache = services.cache
    key = cache.keys.article("fails")
    calls = 0

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise LookupError("gone")

    results = await asyncio.gather(
        *(cache.get_or_load(key, failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results)
    assert calls == 1
    await asyncio.gather(cache.get_or_load(key, failing), return_exceptions=True)
    assert calls == 2  # nothing cached: the next read tries again


async def test_a_failed_load_gives_its_lease_back(services: Services) -> None:
    """Else the next reader of the key (here or in another process) waits lease_wait_seconds for
    a value that never comes: during a database outage every 503 came 0.5 s late."""
    cache = services.cache
    key = cache.keys.article("lease-back")

    async def failing() -> bytes:
        raise LookupError("database down")

    await asyncio.gather(cache.get_or_load(key, failing), return_exceptions=True)
    assert await cache._redis.exists(key.lease) == 0  # type: ignore[union-attr]
    # A reader that finds a lease whose loader has given up stops waiting at once.
    await cache._redis.set(key.lease, "someone", px=50)  # type: ignore[union-attr]
    loaded = await cache.get_or_load(key, _value)
    assert loaded == b"{}"


async def _value() -> bytes:
    return b"{}"
