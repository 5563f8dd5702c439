"""Anonymous GETs of cached resources answered from L1 before FastAPI routes them.

An anonymous read of an article, a profile or the tag list is the same bytes for everyone, so
when L1 holds them there is nothing left to do but send them: no routing, no dependency
injection, no validation. On a miss (or any request this does not recognise) the request goes
on to FastAPI unchanged, whose service fills the cache. Only L1 is consulted: this path never
waits on Redis or PostgreSQL. A key only exists in L1 after a request through the full route
validated the same path, so a hit can only answer what FastAPI would have answered 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from brisk.cache import Cache, Key

ARTICLES = "/api/articles/"
PROFILES = "/api/profiles/"
TAGS = "/api/tags"


def _key_and_route(cache: Cache, path: str) -> tuple[Key, str] | None:
    if path == TAGS:
        return cache.keys.tags(), TAGS
    if path.startswith(ARTICLES):
        slug = path[len(ARTICLES) :]
        # "feed" is its own route; anything with a "/" is a sub-resource (comments, favorite).
        if slug and slug != "feed" and "/" not in slug:
            return cache.keys.article(slug), "/api/articles/{slug}"
    elif path.startswith(PROFILES):
        username = path[len(PROFILES) :]
        if username and "/" not in username:
            return cache.keys.profile(username), "/api/profiles/{username}"
    return None


class CachedReadFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._cached(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", b"%d" % len(body)),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _cached(scope: Scope) -> bytes | None:
        for name, _ in scope["headers"]:
            if name == b"authorization":
                return None  # a viewer's response has their own flags: the full path
        cache: Cache = scope["app"].state.services.cache
        found = _key_and_route(cache, scope["path"])
        if found is None:
            return None
        body = cache.peek(found[0])
        if body is not None:
            # For the metrics middleware: this request never reached the router.
            scope["brisk.route"] = found[1]
        return body
