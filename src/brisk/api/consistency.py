"""Read-your-writes with read replicas (ADR 0012), as pure ASGI middleware.

A GET may read from replicas unless its client wrote recently: after a POST/PUT/DELETE by a
user, that user's reads stay on the primary for `db.read_your_writes_seconds`, on every
instance, because the mark is a Redis key with that expiry, set *before* the write's response
starts (so a read that follows the acknowledgement always finds it). A token issued within
the window counts as a write too: registering returns the first token of a user no replica
may have yet. Anything else (other users, anonymous readers) sees a write once a replica has
replayed it: within `db.replica_max_lag_seconds` plus one poll.

When Redis cannot answer, reads go to the primary: a lost mark must not become a stale read.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brisk.api.authorization import bearer_token
from brisk.cache.redis_client import REDIS_ERRORS
from brisk.db.routing import replica_reads
from brisk.errors import AuthenticationRequiredError

if TYPE_CHECKING:
    from brisk.cache.redis_client import RedisClient
    from brisk.services import Services

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Local marks are pruned once there are this many (expired ones only).
_PRUNE_AT = 10_000


def token_claims(scope: Scope) -> tuple[int | None, float | None]:
    """(user id, issued at) from the Authorization header, *unverified*: they only choose which
    server reads, and a forged token (or a second header) gets its 401 from the auth
    dependency anyway."""
    try:
        token = bearer_token(scope.get("headers", ()))
        if token is None:
            return None, None
        payload = token.split(".")[1].encode()
        claims: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(payload + b"=="))
        return int(claims["sub"]), float(claims.get("iat", 0))
    except (
        AuthenticationRequiredError,
        IndexError,
        KeyError,
        TypeError,
        ValueError,
        binascii.Error,
        orjson.JSONDecodeError,
    ):
        return None, None


class RecentWriters:
    """Who wrote within the window: a Redis key per user, shared by every instance, plus this
    process's own marks (which still hold when a mark could not reach Redis)."""

    def __init__(self, redis: RedisClient | None, namespace: str, window: float) -> None:
        self.redis = redis
        self.namespace = namespace
        self.window = window
        self._local: dict[int, float] = {}

    def _key(self, user_id: int) -> str:
        return f"{self.namespace}:ryw:{user_id}"

    async def mark(self, user_id: int) -> None:
        if len(self._local) >= _PRUNE_AT:
            now = time.monotonic()
            self._local = {u: t for u, t in self._local.items() if t > now}
        self._local[user_id] = time.monotonic() + self.window
        if self.redis is None:
            return
        try:
            await self.redis.set(self._key(user_id), b"1", px=int(self.window * 1000))
        except REDIS_ERRORS as exc:  # any Exception: see redis_client.REDIS_ERRORS
            log.warning("read-your-writes mark not stored in Redis: %s", type(exc).__name__)

    async def wrote_recently(self, user_id: int, issued_at: float | None) -> bool:
        # `iat` is in whole seconds: a token is fresh for up to a second more than the window.
        if issued_at is not None and time.time() - issued_at < self.window + 1:
            return True
        if self._local.get(user_id, 0.0) > time.monotonic():
            return True
        if self.redis is None:
            return False
        try:
            return bool(await self.redis.exists(self._key(user_id)))
        except REDIS_ERRORS:
            return True  # cannot tell: the primary is always right


class ReadYourWrites:
    """Routes each request's lag-tolerant reads (replicas or primary) and marks writers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._writers: RecentWriters | None = None

    def _recent_writers(self, services: Services) -> RecentWriters:
        if self._writers is None:  # built on first use: the services exist after the lifespan
            self._writers = RecentWriters(
                services.redis,
                services.settings.cache.namespace,
                services.settings.db.read_your_writes_seconds,
            )
        return self._writers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services: Services | None = getattr(scope["app"].state, "services", None)
        if services is None or services.db.replicas is None:
            await self.app(scope, receive, send)
            return
        writers = self._recent_writers(services)
        user_id, issued_at = token_claims(scope)
        if scope["method"] in SAFE_METHODS:
            lag_ok = user_id is None or not await writers.wrote_recently(user_id, issued_at)
            with replica_reads(lag_ok):
                await self.app(scope, receive, send)
            return
        if user_id is None:  # register or login: the new token is fresh, see wrote_recently
            await self.app(scope, receive, send)
            return

        async def send_after_marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                await writers.mark(user_id)
            await send(message)

        await self.app(scope, receive, send_after_marking)
