"""What must fail open on Redis does so whatever a Redis call raises, not only redis-py's own
errors: redis-py's asyncio Cluster client also leaks AttributeError when it disconnects a
connection another task is opening (seen killing a master in tests/cluster; redis_client)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from brisk.api.consistency import RecentWriters
from brisk.cache import Cache
from brisk.cache.outbox import Stale
from brisk.ratelimit import RateLimiter
from brisk.settings import CacheSettings, LimitSettings

# Exactly what the Cluster client raised under the killed master (and at a cold start).
LEAKED = AttributeError("'NoneType' object has no attribute 'writelines'")


def _raise(*_: Any, **__: Any) -> Any:
    raise LEAKED


class LeakyPipeline:
    """Queues as redis-py's does; executing it fails as the Cluster client's did."""

    def __getattr__(self, _command: str) -> Any:
        return lambda *args, **kwargs: self

    async def __aenter__(self) -> LeakyPipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def execute(self) -> list[Any]:
        raise LEAKED


class LeakyRedis:
    """A client every command of which raises the leaked AttributeError."""

    def register_script(self, _script: str) -> Any:
        async def run(*_: Any, **__: Any) -> Any:
            raise LEAKED

        return run

    def pipeline(self, transaction: bool = True) -> LeakyPipeline:
        return LeakyPipeline()

    async def get(self, *_: Any) -> Any:
        _raise()

    async def mget(self, *_: Any) -> Any:
        _raise()

    async def set(self, *_: Any, **__: Any) -> Any:
        _raise()

    async def exists(self, *_: Any) -> Any:
        _raise()

    async def publish(self, *_: Any) -> Any:
        _raise()

    async def ping(self) -> Any:
        _raise()


@pytest.fixture
async def cache() -> Any:
    cache = Cache(CacheSettings(breaker_failures=3), LeakyRedis())  # type: ignore[arg-type]
    cache.local.coherent = True
    yield cache
    await cache.stop()  # the breaker's probe


async def test_a_read_is_loaded_from_postgresql_when_redis_leaks_another_error(
    cache: Cache,
) -> None:
    async def load() -> bytes:
        return b"from postgresql"

    for n in range(4):  # past the breaker's threshold: bypassed once it is open
        key = cache.keys.user(n)
        assert await cache.get_or_load(key, load) == b"from postgresql"
    assert cache.breaker_open
    assert await cache.versions(["membership"]) is None  # cannot be known: lists bypass


async def test_an_invalidation_redis_leaked_on_still_evicts_l1_and_opens_the_breaker(
    cache: Cache,
) -> None:
    key = cache.keys.article("a-slug")
    cache.local.put(key.name, b"before the write", cache.local.generation())
    await cache.invalidate(Stale((key.name,), ("membership",)))
    assert cache.local.get(key.name) is None  # this process never reads its own stale entry
    assert cache.breaker_open  # nor Redis's, until the probe has relayed the outbox


async def test_read_your_writes_marks_fail_open_on_a_leaked_error() -> None:
    writers = RecentWriters(LeakyRedis(), "ns", window=3.0)  # type: ignore[arg-type]
    await writers.mark(7)  # kept in this process, not raised
    old_token = time.time() - 3600
    assert await writers.wrote_recently(7, old_token)
    # Another user, whom Redis cannot vouch for either: the primary, which is always right.
    assert await writers.wrote_recently(8, old_token)


async def test_rate_limits_fail_open_on_a_leaked_error() -> None:
    limiter = RateLimiter(LimitSettings(), None, "ns")
    limiter._limiter.hit = _raise  # type: ignore[method-assign]
    await limiter.check("login", address="10.0.0.1", account="a@example.com")  # allowed
    assert limiter._skip_until > time.monotonic()  # and skipped for a while, like the cache
