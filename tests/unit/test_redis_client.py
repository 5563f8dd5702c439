"""Redis URLs with several hosts, and which client each mode builds (no server needed)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from brisk.cache.redis_client import create_redis, parse_redis_url
from brisk.settings import RedisSettings


def test_parse_one_host_with_credentials_and_database() -> None:
    target = parse_redis_url("rediss://app:s%40cret@cache.internal:6380/3")
    assert target.hosts == (("cache.internal", 6380),)
    assert (target.tls, target.db, target.username, target.password) == (True, 3, "app", "s@cret")


def test_parse_several_hosts_default_ports_and_ipv6() -> None:
    target = parse_redis_url("redis://a:7000, b ,[::1]:7002,[::1]", default_port=26379)
    assert target.hosts == (("a", 7000), ("b", 26379), ("::1", 7002), ("::1", 26379))
    assert (target.db, target.username, target.password) == (0, None, None)


def test_parse_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="redis://"):
        parse_redis_url("http://cache:6379")


async def test_each_mode_builds_its_client() -> None:
    standalone = create_redis("redis://127.0.0.1:6379/2", RedisSettings())
    cluster = create_redis("redis://n1:7000,n2:7001", RedisSettings(mode="cluster"))
    sentinel = create_redis("redis://s1,s2", RedisSettings(mode="sentinel", sentinel_master="m"))
    assert type(standalone) is Redis
    assert isinstance(cluster, RedisCluster)
    assert [(n.host, n.port) for n in cluster.startup_nodes] == [
        ("n1", 7000),
        ("n2", 7001),
    ]
    assert type(sentinel) is Redis
    pool = sentinel.connection_pool
    assert [
        s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels
    ] == [26379, 26379]  # type: ignore[attr-defined]
    for client in (standalone, cluster, sentinel):
        await client.aclose()


def test_several_hosts_need_a_mode_that_uses_them() -> None:
    with pytest.raises(ValueError, match="MODE=cluster"):
        create_redis("redis://a:6379,b:6379", RedisSettings())
    with pytest.raises(ValueError, match="database 0"):
        create_redis("redis://a:7000/1", RedisSettings(mode="cluster"))
