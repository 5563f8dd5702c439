"""What every naive handler reads: connections, the data reads, tokens and the answer cache."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse

from brisk.lab.naive.connections import Connections
from brisk.lab.naive.data import NaiveData, Row
from brisk.security import TokenCodec

# The "cache" technique here is the simplest one: whole anonymous GET answers kept for this long.
CACHE_TTL_SECONDS = 5.0


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"errors": {"body": [message]}}, status_code=status)


@dataclass
class Naive:
    connections: Connections
    data: NaiveData
    tokens: TokenCodec
    cache_answers: bool
    _answers: dict[str, tuple[float, Row]] = field(default_factory=dict)

    def viewer(self, request: Request) -> int | None:
        header = request.headers.get("authorization", "")
        return self.tokens.user_id(header.split(" ", 1)[1]) if " " in header else None

    async def cached(self, request: Request, make: Callable[[], Awaitable[Row]]) -> JSONResponse:
        """The answer, kept whole for anonymous GETs when the cache technique is on."""
        if not self.cache_answers or "authorization" in request.headers:
            return JSONResponse(await make())
        key = str(request.url)
        hit = self._answers.get(key)
        if hit and hit[0] > time.monotonic():
            return JSONResponse(hit[1])
        value = await make()
        self._answers[key] = (time.monotonic() + CACHE_TTL_SECONDS, value)
        return JSONResponse(value)


def naive(request: Request) -> Naive:
    found: Naive = request.app.state.naive
    return found
