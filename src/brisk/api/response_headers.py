"""Headers every response gets right whatever route made it (pure ASGI, outside the fast path).

* A response that carries a token (registration, login, the current user) or answers a request
  that sent one is one user's: `Cache-Control: private, no-store` and `Vary: Authorization`, so
  no shared cache (a CDN, a corporate proxy) keeps it or hands it to someone else.
* A redirect's `Location` is made relative. Starlette's trailing-slash redirect builds it from
  the request's `Host` header, which the client chooses: `Host: evil.example` came back as
  `Location: http://evil.example/api/users` (open redirect, cache poisoning; issue 14).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The routes whose bodies hold a token even when the request had none.
TOKEN_PATHS = frozenset({"/api/users", "/api/users/login", "/api/user"})
PRIVATE = [(b"cache-control", b"private, no-store"), (b"vary", b"Authorization")]


def _private(scope: Scope) -> bool:
    if scope["path"].rstrip("/") in TOKEN_PATHS:
        return True
    return any(name == b"authorization" for name, _ in scope["headers"])


def relative(location: bytes) -> bytes:
    """The path, query and fragment of `location`, whatever host and scheme it named."""
    parts = urlsplit(location.decode("latin-1"))
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    # "//evil.example" would still be read as another host: collapse leading slashes.
    path = "/" + path.lstrip("/")
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


class SafeResponseHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = _private(scope)

        async def send_fixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if private or 300 <= status < 400:
                    message["headers"] = _fixed(message.get("headers", ()), private, status)
            await send(message)

        await self.app(scope, receive, send_fixed)


def _fixed(headers: object, private: bool, status: int) -> list[tuple[bytes, bytes]]:
    fixed = []
    for name, value in headers:  # type: ignore[attr-defined]
        if private and name in (b"cache-control", b"vary"):
            continue  # replaced below: nothing may make a private response storable
        if name == b"location" and 300 <= status < 400:
            value = relative(value)
        fixed.append((name, value))
    return [*fixed, *PRIVATE] if private else fixed
