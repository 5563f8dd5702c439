"""The ceiling to compare against: a bare ASGI app that answers every request with the same
1 KB of JSON, served by the same server on the same core as brisk (`uvicorn
brisk.lab.constant:app`). A cached brisk read can at best approach it."""

from __future__ import annotations

import orjson
from starlette.types import Receive, Scope, Send

BODY = orjson.dumps({"data": "x" * 1000})
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
