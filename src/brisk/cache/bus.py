"""L1 evictions between processes over Redis pub/sub, and what to do when that link is down.

A process applies every eviction it receives to its L1. It cannot know what it missed while its
subscription was down, so whenever the subscription is (re)established it flushes its L1, and
while it is down the L1 runs degraded (short-lived entries, see LocalCache). The subscriber
connection never retries silently (redis-py would resubscribe behind our back and hide the gap):
every failure surfaces here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from brisk.cache.local import LocalCache
from brisk.cache.redis_client import RedisClient, subscribe

log = logging.getLogger(__name__)

# A silent connection (a frozen or partitioned Redis) is noticed within HEARTBEAT * 3.
HEARTBEAT_SECONDS = 1.0
RECONNECT_MIN_SECONDS = 0.05
RECONNECT_MAX_SECONDS = 1.0


def subscriber_client(client: RedisClient) -> RedisClient:
    """A client for the subscription whose failures are never retried silently.

    For one plain server, a copy of ``client``'s settings without retries. Cluster and Sentinel
    clients find their node anew on each subscribe(), so they are used as they are; a silent
    re-subscription there still ends in a "subscribe" confirmation, which flushes L1.
    """
    source = getattr(client, "connection_pool", None)
    if type(source) not in (aioredis.ConnectionPool, aioredis.BlockingConnectionPool):
        return client
    assert isinstance(source, aioredis.ConnectionPool)
    kwargs = dict(source.connection_kwargs)
    kwargs["retry"] = Retry(NoBackoff(), 0)
    kwargs["socket_timeout"] = None  # reads wait as long as get_message is told to
    pool = aioredis.ConnectionPool(
        connection_class=source.connection_class, max_connections=2, **kwargs
    )
    return aioredis.Redis(connection_pool=pool)


def encode(keys: list[str]) -> bytes:
    return orjson.dumps(keys)


class EvictionBus:
    """Keeps one subscription alive and applies what arrives to the L1."""

    def __init__(
        self,
        client: RedisClient,
        channel: str,
        local: LocalCache,
        evict: Callable[[list[str]], None],
        *,
        owns_client: bool,
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        self._channel = channel
        self._local = local
        self._evict = evict
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        # Counters for metrics and tests.
        self.received = 0
        self.resubscriptions = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="brisk-cache-evictions")

    async def wait_subscribed(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._subscribed.wait()
        return self._subscribed.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._owns_client:
            await self._client.aclose()

    async def _run(self) -> None:
        delay = RECONNECT_MIN_SECONDS
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cache eviction subscription lost: %s", exc)
            self._degrade()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _degrade(self) -> None:
        self._subscribed.clear()
        self._local.coherent = False
        self._local.clear()

    async def _listen(self) -> None:
        pubsub = await subscribe(self._client, self._channel)
        try:
            last_heard = time.monotonic()
            next_ping = last_heard + HEARTBEAT_SECONDS
            while True:
                message = await pubsub.get_message(timeout=HEARTBEAT_SECONDS / 2)
                now = time.monotonic()
                if message is not None:
                    last_heard = now
                    self._handle(message)
                if now >= next_ping:
                    await pubsub.ping()
                    next_ping = now + HEARTBEAT_SECONDS
                if now - last_heard > 3 * HEARTBEAT_SECONDS:
                    raise TimeoutError("no answer from Redis on the eviction subscription")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            # Whatever was published before this point may have been missed: start clean.
            self._local.clear()
            self._local.coherent = True
            self.resubscriptions += 1
            self._subscribed.set()
        elif kind == "message":
            data = message.get("data")
            try:
                keys = orjson.loads(data) if isinstance(data, bytes) else None
            except orjson.JSONDecodeError:
                keys = None
            if not isinstance(keys, list):
                # Not ours, or damaged: the only safe reading is "anything may have changed".
                self._local.clear()
                return
            self.received += 1
            self._evict([k for k in keys if isinstance(k, str)])
