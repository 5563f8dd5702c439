"""Abuse limits on login and register, per client address and per account, shared by every
process through Redis (the `limits` library's moving window, one Lua script per hit); ADR 0009."""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio.cluster import RedisCluster

from brisk.cache.redis_client import REDIS_ERRORS, RedisClient
from brisk.errors import TooManyRequestsError
from brisk.settings import LimitSettings

log = logging.getLogger(__name__)


def _account_key(account: str) -> str:
    # Emails are personal data and may hold '/', the key separator: store a digest instead.
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


def _storage(redis: RedisClient | None, namespace: str) -> Storage:
    prefix = f"{namespace}:limits"
    if redis is None:  # one process on its own: its own counts are all there is
        return MemoryStorage()
    if isinstance(redis, RedisCluster):
        # limits cannot share a cluster client: it builds its own, to the same nodes, with the
        # same timeouts; each limit's key is one key, so its Lua script stays in one slot.
        nodes = ",".join(f"{node.host}:{node.port}" for node in redis.startup_nodes)
        kwargs = redis.nodes_manager.connection_kwargs
        options = {
            k: kwargs[k]
            for k in ("socket_timeout", "socket_connect_timeout", "password", "username")
            if kwargs.get(k) is not None
        }
        return RedisClusterStorage(
            f"async+redis+cluster://{nodes}",
            implementation="redispy",
            key_prefix=prefix,
            wrap_exceptions=True,
            **options,
        )
    return RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=prefix,
        wrap_exceptions=True,
        # The app's pool, timeouts and all (limits' annotation is narrower than it accepts);
        # in Sentinel mode that pool follows the sentinels to the current master.
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )


class RateLimiter:
    """`await check("login", address=..., account=...)` counts one attempt against both limits
    and raises TooManyRequestsError when either is spent.

    Redis down or slow fails open: the attempt is allowed and limits are skipped for
    `redis_retry_seconds`, like the cache, because refusing every login while Redis is out would
    turn a cache outage into a full outage for the whole user base; the password hash (argon2,
    ~50 ms of CPU per guess) still bounds guessing meanwhile.
    """

    def __init__(self, settings: LimitSettings, redis: RedisClient | None, namespace: str) -> None:
        self.settings = settings
        storage = _storage(redis, namespace)
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {
            name: parse(getattr(settings, name))
            for name in (
                "login_per_address",
                "login_per_account",
                "register_per_address",
                "register_per_account",
            )
        }
        self._skip_until = 0.0

    async def check(self, action: str, *, address: str | None, account: str) -> None:
        if not self.settings.enabled or time.monotonic() < self._skip_until:
            return
        keys = [(f"{action}_per_account", _account_key(account))]
        if address:
            keys.insert(0, (f"{action}_per_address", address))
        try:
            for name, key in keys:
                item = self._items[name]
                if not await self._limiter.hit(item, action, name, key):
                    stats = await self._limiter.get_window_stats(item, action, name, key)
                    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                    raise TooManyRequestsError(
                        f"too many {action} attempts, try again in {retry_after} s", retry_after
                    )
        except TooManyRequestsError:
            raise
        except REDIS_ERRORS as exc:
            # limits wraps only redis-py's own errors in StorageError; what its Cluster client
            # leaks besides (see redis_client.REDIS_ERRORS) arrives as it is.
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            self._skip_until = time.monotonic() + self.settings.redis_retry_seconds
            log.warning(
                "rate limits skipped for %.0f s: Redis failed (%s)",
                self.settings.redis_retry_seconds,
                type(cause).__name__,
            )
