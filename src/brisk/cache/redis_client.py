"""The Redis client by configuration: one server, a Redis Cluster, or a Sentinel-watched primary.

All three answer the same commands, `publish` and `pubsub()`, so callers do not branch on the
mode. On a Cluster, a classic PUBLISH sent to any node reaches subscribers on every node (the
cluster bus broadcasts it), and redis-py's ClusterPubSub subscribes on the node that owns the
channel's slot; when that node fails, the subscription drops and the subscriber must subscribe
again (as after any dropped connection), which finds the promoted replica.
Keys that one operation touches together must share a hash tag (`{...}`) to share a slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from brisk.settings import RedisSettings

RedisClient: TypeAlias = Redis | RedisCluster
# What a Redis call can raise when Redis, or the client's view of it, is unwell: redis-py's
# RedisError, a Cluster client's RedisClusterException (not a RedisError: SlotNotCoveredError
# while a master's slots have no owner during failover), OSError, TimeoutError -- and plain
# Python errors. redis-py 8's asyncio Cluster client, recovering from a timeout or a failover,
# disconnects connections that other tasks are opening at that moment, and those fail with
# AttributeError ('NoneType' object has no attribute 'writelines'), which no redis-py retry
# catches; a peer-closed socket leaks TypeError likewise (redis/redis-py#4287, #3835). So who
# must fail open on Redis (the cache and its breaker, read-your-writes marks, the rate limits)
# takes any Exception from a Redis call as Redis failing, and logs what it was. CancelledError
# is no Exception: a cancelled request still stops.
REDIS_ERRORS: tuple[type[BaseException], ...] = (Exception,)
DEFAULT_PORTS = {"standalone": 6379, "cluster": 6379, "sentinel": 26379}


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A Redis URL that may name several hosts: `redis://[user:pass@]h1:p1,h2:p2[/db]`."""

    tls: bool
    hosts: tuple[tuple[str, int], ...]
    db: int
    username: str | None
    password: str | None


def parse_redis_url(url: str, default_port: int = 6379) -> RedisTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"a Redis URL starts with redis:// or rediss://, not {parts.scheme!r}")
    credentials, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    hosts = []
    for item in (i.strip() for i in hostlist.split(",")):
        host, colon, port = item.rpartition(":")
        if not colon or host.endswith(":") or item.endswith("]"):  # no port, or bare [IPv6]
            host, port = item, ""
        hosts.append((host.strip("[]") or "localhost", int(port) if port else default_port))
    path = parts.path.strip("/")
    return RedisTarget(
        tls=parts.scheme == "rediss",
        hosts=tuple(hosts),
        db=int(path) if path else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def create_redis(url: str, settings: RedisSettings) -> RedisClient:
    """A client for `url` in the configured mode; it connects lazily, on the first command."""
    target = parse_redis_url(url, DEFAULT_PORTS[settings.mode])
    common: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout_seconds,
        "socket_connect_timeout": settings.socket_timeout_seconds,
        "username": target.username,
        "password": target.password,
        "ssl": target.tls,
    }
    if settings.mode == "cluster":
        if target.db != 0:
            raise ValueError("Redis Cluster has only database 0")
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
            # Per node: each master gets its own bounded pool.
            max_connections=settings.max_connections,
            **common,
        )
    if settings.mode == "sentinel":
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(target.hosts),
            # The sentinels themselves: same timeouts, no password unless they need one.
            sentinel_kwargs={
                "socket_timeout": settings.socket_timeout_seconds,
                "socket_connect_timeout": settings.socket_timeout_seconds,
                "password": settings.sentinel_password,
            },
            **common,
        )
        client: Redis = sentinel.master_for(
            settings.sentinel_master, db=target.db, max_connections=settings.max_connections
        )
        return client
    if len(target.hosts) != 1:
        raise ValueError(
            "several Redis hosts need BRISK_REDIS__MODE=cluster or BRISK_REDIS__MODE=sentinel"
        )
    # A blocking pool: a burst waits up to the timeout for a connection instead of failing at
    # once ("Too many connections"), which would open the cache's breaker for nothing.
    pool = BlockingConnectionPool.from_url(
        url,
        socket_timeout=settings.socket_timeout_seconds,
        socket_connect_timeout=settings.socket_timeout_seconds,
        max_connections=settings.max_connections,
        timeout=settings.pool_timeout_seconds,
    )
    return Redis(connection_pool=pool)


async def subscribe(client: RedisClient, *channels: str) -> PubSub:
    """A pub/sub connection subscribed to `channels`, in any mode.

    A Cluster client's pubsub() picks the node that owns the channel's slot from the client's
    slot map, which must be loaded (redis-py 8 raises a KeyError otherwise) and current: a
    dropped subscription does not refresh it the way a failed command does, so it is reloaded
    here. Call this again after the subscription drops: it finds the slot's owner now, e.g. the
    replica promoted after a master failed.
    """
    if isinstance(client, RedisCluster):
        await client.initialize()
        await client.nodes_manager.initialize()
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(*channels)
    except BaseException:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        raise
    return pubsub


async def close_redis(client: RedisClient) -> None:
    """Close the client and, in Sentinel mode, its connections to the sentinels too (closing
    the master's client alone leaves those open)."""
    await client.aclose()
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()
