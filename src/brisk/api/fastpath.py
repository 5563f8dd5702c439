"""Cached GETs answered from L1 before FastAPI routes them (ADR 0017).

An anonymous read of an article, a profile or the tag list is the same bytes for everyone, so
when L1 holds them there is nothing left to do but send them: no routing, no dependency
injection, no validation. The dashboard is one viewer's own: with a valid token, its key (with
the version tokens read from Redis, as the full path does) is looked up the same way. Which
paths qualify and under which key is the routers' declaration (api/cached_reads.py), not this
module's. On a miss, a bad token, or any request the table does not name, the request goes on
to FastAPI unchanged, whose service fills the cache or answers the error. Only L1 holds what is
sent: a key only exists there after a request through the full route validated the same
request, so a hit can only answer what FastAPI would have answered 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from brisk.api import http_cache
from brisk.api.authorization import bearer_token
from brisk.api.cached_reads import CachedReads
from brisk.errors import AuthenticationRequiredError
from brisk.observability.middleware import ROUTE_KEY

if TYPE_CHECKING:
    from brisk.cache import Key
    from brisk.services import Services


class CachedReadFastPath:
    def __init__(self, app: ASGIApp, *, reads: CachedReads) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = await self._cached(scope)
            if hit is not None:
                await _send_hit(scope, send, *hit)
                return
        await self.app(scope, receive, send)

    async def _cached(self, scope: Scope) -> tuple[bytes, bytes] | None:
        """The cached body and its Cache-Control, or None to let the routes answer."""
        found = self.reads.match(scope["path"])
        if found is None:
            return None
        route, params = found
        try:
            token = bearer_token(scope["headers"])
        except AuthenticationRequiredError:
            return None  # FastAPI's dependencies answer the 401
        services: Services = scope["app"].state.services
        read = route.read
        if read.key is not None:
            if token is not None:
                return None  # a signed-in viewer's response has their own flags: the full path
            key: Key | None = read.key(services, params)
        else:
            assert read.viewer_key is not None  # a CachedRead has one of the two
            if token is None:
                return None
            try:
                claims = services.tokens.verify(token)
            except Exception:
                return None  # the full path answers the 401
            # Only a generation already in L1 is trusted here; otherwise the full path checks
            # it (a revoked token, a vanished user, or one not seen yet).
            current = services.cache.peek(services.cache.keys.token_generation(claims.user_id))
            if current != b"%d" % claims.generation:
                return None
            key = await read.viewer_key(services, claims.user_id)
        body = None if key is None else services.cache.peek(key)
        if body is None:
            return None
        # For the metrics middleware: this request never reached the router.
        scope[ROUTE_KEY] = route.template
        return body, http_cache.PRIVATE if read.viewer else http_cache.SHARED


async def _send_hit(scope: Scope, send: Send, body: bytes, control: bytes) -> None:
    tag = http_cache.etag(body)
    if http_cache.not_modified(http_cache.if_none_match(scope["headers"]), tag):
        await http_cache.send_not_modified(send, tag, control)
        return
    headers = [
        (b"content-length", b"%d" % len(body)),
        (b"content-type", b"application/json"),
        *http_cache.cache_headers(tag, control),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
