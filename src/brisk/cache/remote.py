"""L2's commands: what each Redis round trip of the cache does, and nothing about when.

The policy — when to take a lease, how long to wait for another loader, what a failure means
(the breaker) — is `cache.store`'s. Every method here is one round trip (or one pipeline) and
raises Redis's own errors, which the store counts and turns into a read from PostgreSQL.
"""

from __future__ import annotations

import secrets

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from brisk.cache.bus import encode
from brisk.cache.keys import Key, KeySpace
from brisk.cache.redis_client import RedisClient

_SET_IF_LEASED = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
# Atomically: the value if a loader stored it meanwhile, else the lease if it is free. A plain
# SET NX after a missed GET could take the lease just after another process stored the value
# and released it, and load a second time.
_VALUE_OR_LEASE = """
local value = redis.call('GET', KEYS[1])
if value then return {1, value} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {0, ''}
"""
# A loader that failed (the database down) gives its lease back at once.
_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Version tokens outlive any entry that carries them; an expired token is replaced by a new
# random one, which only makes old entries unreachable.
VERSION_TTL_SECONDS = 7 * 24 * 3600
# Keys per UNLINK when a namespace is cleared.
CLEAR_CHUNK = 500


def new_token() -> str:
    """A lease holder's or a version's random token."""
    return secrets.token_hex(8)


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class RemoteCache:
    """The L2 commands over one Redis client (standalone, Sentinel's primary or a Cluster)."""

    def __init__(self, redis: RedisClient, keys: KeySpace) -> None:
        self.redis = redis
        self.keys = keys
        self._set_if_leased = redis.register_script(_SET_IF_LEASED)
        self._value_or_lease = redis.register_script(_VALUE_OR_LEASE)
        self._release_lease = redis.register_script(_RELEASE_LEASE)

    async def get(self, name: str) -> bytes | None:
        value = await self.redis.get(name)
        return None if value is None else _as_bytes(value)

    async def versions(self, redis_keys: list[str]) -> tuple[str, ...]:
        """The current token of each version key, made where there is none yet."""
        values = await self.redis.mget(redis_keys)
        missing = [k for k, v in zip(redis_keys, values, strict=True) if v is None]
        if missing:
            async with self.redis.pipeline(transaction=False) as pipe:
                for k in missing:
                    pipe.set(k, new_token(), nx=True, ex=VERSION_TTL_SECONDS)
                await pipe.execute()
            values = await self.redis.mget(redis_keys)
        if any(v is None for v in values):
            raise RedisError("version token vanished while being read")
        return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)

    async def value_or_lease(self, key: Key, token: str, lease_ms: int) -> bytes | bool:
        """The stored value (bytes), True if the lease is ours now, False if another holds it."""
        outcome, value = await self._value_or_lease(
            keys=[key.name, key.lease], args=[token, lease_ms]
        )
        if int(outcome) == 1:
            return _as_bytes(value)
        return int(outcome) == 2

    async def give_back_lease(self, lease: str, token: str) -> None:
        await self._release_lease(keys=[lease], args=[token])

    async def store_leased(self, key: Key, token: str, value: bytes, ttl_ms: int) -> bool:
        """Store `value` only while `token` still holds the lease (an invalidation deletes it)."""
        stored = await self._set_if_leased(keys=[key.name, key.lease], args=[token, value, ttl_ms])
        return bool(stored)

    async def value_and_lease(self, key: Key) -> tuple[bytes | None, bool]:
        """What a waiting reader polls: the value if stored, and whether a lease is held."""
        value, lease = await self.redis.mget([key.name, key.lease])
        return (None if value is None else _as_bytes(value)), lease is not None

    async def invalidate(self, names: list[str], version_names: list[str]) -> None:
        """Delete entries and their leases, renew version tokens, then tell every process."""
        # redis-py refuses PUBLISH inside a Cluster pipeline: there it follows the pipeline
        # (one more round trip, same order: L2 entries are gone before anyone hears of it).
        cluster = isinstance(self.redis, RedisCluster)
        version_keys = [self.keys.version(v) for v in version_names]
        # Every L1 holds tokens too (ADR 0020): renewed ones are evicted like entries.
        evicted = [*names, *version_keys]
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.delete(name, f"{name}:lease")
            for version_key in version_keys:
                pipe.set(version_key, new_token(), ex=VERSION_TTL_SECONDS)
            if evicted and not cluster:
                pipe.publish(self.keys.eviction_channel, encode(evicted))
            await pipe.execute()
        if evicted and cluster:
            await self.redis.publish(self.keys.eviction_channel, encode(evicted))

    async def clear(self) -> int:
        """Unlink every key of the namespace and make every process flush its L1."""
        deleted = 0
        batch: list[str] = []
        async for name in self.redis.scan_iter(match=f"{self.keys.prefix}*", count=1000):
            batch.append(name)
            if len(batch) >= CLEAR_CHUNK:
                deleted += await self.redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self.redis.unlink(*batch)
        # Anything but a list of keys makes every subscriber flush its whole L1.
        await self.redis.publish(self.keys.eviction_channel, b'"flush"')
        return deleted
