"""Cached GETs answered from L1 before FastAPI routes them.

An anonymous read of an article, a profile or the tag list is the same bytes for everyone, so
when L1 holds them there is nothing left to do but send them: no routing, no dependency
injection, no validation. The dashboard is one viewer's own: with a valid token, its key (with
the version tokens read from Redis, as the full path does) is looked up the same way. On a miss,
a bad token, or any request this does not recognise, the request goes on to FastAPI unchanged,
whose service fills the cache or answers the error. Only L1 holds what is sent: a key only
exists there after a request through the full route validated the same request, so a hit can
only answer what FastAPI would have answered 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from brisk.api.authorization import bearer_token
from brisk.errors import AuthenticationRequiredError

if TYPE_CHECKING:
    from brisk.cache import Cache, Key
    from brisk.services import Services

ARTICLES = "/api/articles/"
PROFILES = "/api/profiles/"
TAGS = "/api/tags"
DASHBOARD = "/api/dashboard"


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
            body = await self._cached(scope)
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
    async def _cached(scope: Scope) -> bytes | None:
        services: Services = scope["app"].state.services
        try:
            token = bearer_token(scope["headers"])
        except AuthenticationRequiredError:
            return None  # FastAPI's dependencies answer the 401
        path = scope["path"]
        if token is not None:
            if path != DASHBOARD:
                return None  # a viewer's response has their own flags: the full path
            key = await _dashboard_key(services, token)
            route = DASHBOARD
        else:
            found = _key_and_route(services.cache, path)
            if found is None:
                return None
            key, route = found
        body = None if key is None else services.cache.peek(key)
        if body is not None:
            # For the metrics middleware: this request never reached the router.
            scope["brisk.route"] = route
        return body


async def _dashboard_key(services: Services, token: str) -> Key | None:
    try:
        viewer_id = services.tokens.user_id(token)
    except Exception:
        return None
    return await services.dashboard.cached_key(viewer_id)
