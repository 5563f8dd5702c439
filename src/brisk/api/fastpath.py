"""Cached GETs answered from L1 before FastAPI routes them (ADR 0017, ADR 0020).

A read whose answer L1 already holds has nothing left to do but send it: no routing, no
dependency injection, no validation. Anonymous or signed in: a signed-in viewer's token is
verified here (its generation must already be in L1 and current), and the service's `peek`
lays the viewer's flags over the cached bytes from their cached sets. Which paths qualify, and
how each is answered, is the routers' declaration (api/cached_reads.py), not this module's.

On a miss, a bad token, or any request the table does not name, the request goes on to
FastAPI unchanged but for what was verified here (handed on, so the token is verified once),
and the route answers, fills the cache or answers the error. Only L1 holds what is sent: a key
only exists there after a request through the full route read it, so a hit can only answer
what FastAPI would have answered 200.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from brisk.api import http_cache
from brisk.api.authorization import VERIFIED_KEY, Verified, bearer_token
from brisk.api.cached_reads import CachedReads, parse_query
from brisk.errors import AuthenticationRequiredError
from brisk.observability.middleware import ROUTE_KEY, STARTED_KEY

if TYPE_CHECKING:
    from brisk.observability.middleware import FastAnswers
    from brisk.services import Services


class CachedReadFastPath:
    """With `answers`, the outermost layer, which counts and logs its own answers (ADR 0028);
    without, inside the telemetry middleware (telemetry off, or asked for per-request detail
    the middleware keeps: Server-Timing's db and cache parts, tracing spans)."""

    def __init__(
        self, app: ASGIApp, *, reads: CachedReads, answers: FastAnswers | None = None
    ) -> None:
        self.app = app
        self.reads = reads
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            started = time.perf_counter()
            hit = self._cached(scope)
            if hit is None:
                hit = await self._after_loads(scope)
            if hit is not None:
                status, headers, body = _hit(scope, *hit)
                answers = self.answers
                # Sent from here, not through a helper coroutine: a frame fewer per hit.
                request_id = answers.begin(scope, started, headers) if answers else b""
                try:
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    await send({"type": "http.response.body", "body": body})
                finally:
                    if answers:
                        answers.done(scope, started, status, request_id)
                return
            scope[STARTED_KEY] = started  # the request's time includes this probe
        await self.app(scope, receive, send)

    async def _after_loads(self, scope: Scope) -> tuple[bytes, bytes] | None:
        """When what the read missed is being loaded (a write's refill, another reader's
        miss), wait for it and look again: the full route would join the same loads, at
        0.13-0.2 ms more CPU (docs/BENCHMARKS.md). Once: a second miss takes the full route."""
        cache = scope["app"].state.services.cache
        loads = cache.loads_missed()
        if not loads:
            return None
        await cache.wait_for(loads)
        hit = self._cached(scope)
        cache.loads_missed()  # forgotten: the full route loads (or joins) them itself
        return hit

    def _cached(self, scope: Scope) -> tuple[bytes, bytes] | None:
        """The cached body and its Cache-Control, or None to let the routes answer."""
        services: Services = scope["app"].state.services
        services.cache.loads_missed()  # none left from before
        found = self.reads.match(scope["path"])
        if found is None:
            return None
        route, params = found
        read = route.read
        query = parse_query(scope["query_string"], read.query)
        if query is None:
            return None
        try:
            token = bearer_token(scope["headers"])
        except AuthenticationRequiredError:
            return None  # FastAPI's dependencies answer the 401
        viewer_id = None
        if token is not None:
            verified = _verify(services, token)
            if verified is None:
                return None  # the full path answers the 401
            scope[VERIFIED_KEY] = verified
            if not verified.current:
                return None  # the full path checks the generation (and fills it)
            viewer_id = verified.claims.user_id
        elif read.signed_in:
            return None
        body = read.peek(services, params, query, viewer_id)
        if body is None:
            return None
        # For the metrics middleware: this request never reached the router.
        scope[ROUTE_KEY] = route.template
        return body, http_cache.SHARED if token is None else http_cache.PRIVATE


def _verify(services: Services, token: str) -> Verified | None:
    try:
        claims = services.tokens.verify(token)
    except Exception:
        return None
    # Only a generation already in L1 is trusted here; otherwise the full path checks it (a
    # revoked token, a vanished user, or one not seen yet).
    current = services.cache.peek(services.cache.keys.token_generation(claims.user_id))
    return Verified(token, claims, current=current == b"%d" % claims.generation)


def _hit(scope: Scope, body: bytes, control: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body of a cached answer: 304 when the client holds it."""
    tag = http_cache.cached_etag(body)  # the same few bodies again and again: remembered
    if http_cache.not_modified(http_cache.if_none_match(scope["headers"]), tag):
        # No body and no Content-Length: a 304 describes the representation the client holds.
        return 304, http_cache.cache_headers(tag, control), b""
    headers = [
        (b"content-length", b"%d" % len(body)),
        (b"content-type", b"application/json"),
        *http_cache.cache_headers(tag, control),
    ]
    return 200, headers, body
