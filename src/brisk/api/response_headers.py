"""The headers every routed response gets right, whichever route made it (pure ASGI, inside
the fast path, which applies the same rules to its own answers).

* Under `/api`: the HTTP caching rules of `api.http_cache` — an ETag on a successful JSON GET
  (a matching `If-None-Match` turns the answer into a 304), `Cache-Control` and
  `Vary: Authorization`. Any `Cache-Control` or `Vary` a route set is replaced: nothing may
  make a private response storable.
* Everywhere: a redirect's `Location` is made relative. Starlette's trailing-slash redirect
  builds it from the request's `Host` header, which the client chooses: `Host: evil.example`
  came back as `Location: http://evil.example/api/users` (open redirect, cache poisoning;
  issue 14).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brisk.api import http_cache

_REPLACED = frozenset({b"cache-control", b"vary"})
_JSON = b"application/json"


def relative(location: bytes) -> bytes:
    """The path, query and fragment of `location`, whatever host and scheme it named."""
    parts = urlsplit(location.decode("latin-1"))
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    # "//evil.example" would still be read as another host: collapse leading slashes.
    path = "/" + path.lstrip("/")
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


def _kept(headers: Iterable[tuple[bytes, bytes]], status: int) -> list[tuple[bytes, bytes]]:
    redirect = 300 <= status < 400
    kept = []
    for name, value in headers:
        if name in _REPLACED:
            continue
        kept.append((name, relative(value) if redirect and name == b"location" else value))
    return kept


class ResponseHeaders:
    """The response start is held back until its body arrives, since a 304 replaces both. Only
    a single-message JSON body gets an ETag; a streamed one passes with the other headers."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, _relative_locations(send))
            return
        held: Message | None = None

        async def send_with_rules(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            start, held = held, None
            status = start["status"]
            control = http_cache.control_for(scope, status)
            headers = _kept(start.get("headers", ()), status)
            tag = None
            whole = not message.get("more_body", False)
            if scope["method"] == "GET" and status == 200 and whole and _is_json(headers):
                tag = http_cache.etag(message.get("body", b""))
                if http_cache.not_modified(http_cache.if_none_match(scope["headers"]), tag):
                    await http_cache.send_not_modified(send, tag, control)
                    return
            headers += http_cache.cache_headers(tag, control)
            await send({**start, "headers": headers})
            await send(message)

        await self.app(scope, receive, send_with_rules)


def _relative_locations(send: Send) -> Send:
    async def send_relative(message: Message) -> None:
        if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
            message["headers"] = [
                (name, relative(value) if name == b"location" else value)
                for name, value in message.get("headers", ())
            ]
        await send(message)

    return send_relative


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"content-type" and value.startswith(_JSON) for name, value in headers)
