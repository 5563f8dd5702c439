"""Request body bounds (pure ASGI): a size cap (refused early on Content-Length, else counted
chunk by chunk) and a read time (ADR 0019).

The read time is also bounded in uvicorn's protocol (brisk.http_limits); granian (hyper) has no
body timeout of its own, so the app bounds it: a body not complete `body_timeout_seconds` after
the app started reading it is a 408 with `Connection: close`. Only requests that read a body
pay for it (a timer per chunk); the GETs of the fast path never call `receive`.
"""

from __future__ import annotations

import asyncio

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brisk.api.errors import error_response


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_timeout_seconds: float | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            response = error_response(
                413, f"request body must be at most {self.max_body_bytes} bytes"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        # Chunked bodies carry no length up front: stop reading once the cap is passed.
        seen = 0
        deadline: float | None = None

        async def counted() -> Message:
            nonlocal seen, deadline
            if self.body_timeout_seconds is None:
                message = await receive()
            else:
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + self.body_timeout_seconds
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    seconds = f"{self.body_timeout_seconds:g}"
                    raise HTTPException(
                        408,
                        f"request body did not arrive within {seconds} s",
                        headers={"Connection": "close"},
                    ) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    # FastAPI re-raises HTTPException from body reading; our handler shapes it.
                    raise HTTPException(
                        413, f"request body must be at most {self.max_body_bytes} bytes"
                    )
            return message

        return counted
