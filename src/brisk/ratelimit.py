"""Abuse limits on login and register, per client address and per account, shared by every
process through Redis (the `limits` library's moving window, one Lua script per hit); ADR 0009."""

from __future__ import annotations

import hashlib
import logging
import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from brisk.errors import TooManyRequestsError
from brisk.settings import LimitSettings

log = logging.getLogger(__name__)


def _account_key(account: str) -> str:
    # Emails are personal data and may hold '/', the key separator: store a digest instead.
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


class RateLimiter:
    """`await check("login", address=..., account=...)` counts one attempt against both limits
    and raises TooManyRequestsError when either is spent.

    Redis down or slow fails open: the attempt is allowed and limits are skipped for
    `redis_retry_seconds`, like the cache, because refusing every login while Redis is out would
    turn a cache outage into a full outage for the whole user base; the password hash (argon2,
    ~50 ms of CPU per guess) still bounds guessing meanwhile.
    """

    def __init__(
        self, settings: LimitSettings, redis: aioredis.Redis | None, namespace: str
    ) -> None:
        self.settings = settings
        storage: Storage
        if redis is None:  # one process on its own: its own counts are all there is
            storage = MemoryStorage()
        else:
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=f"{namespace}:limits",
                wrap_exceptions=True,
                # The app's pool, timeouts and all (limits' annotation is narrower than it accepts).
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            )
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
        except StorageError as exc:
            self._skip_until = time.monotonic() + self.settings.redis_retry_seconds
            log.warning(
                "rate limits skipped for %.0f s: Redis failed (%s)",
                self.settings.redis_retry_seconds,
                type(exc.storage_error).__name__,
            )
