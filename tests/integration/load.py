"""A small, bounded HTTP load for fault tests: N clients loop over a request mix until told to
stop, and every request's start, duration and outcome is kept for the assertions."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Outcome:
    kind: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None  # None: no HTTP answer (refused, reset)
    retry_after: str | None = None
    body: Any = None
    error: str = ""

    @property
    def ended(self) -> float:
        return self.started + self.elapsed


# One request of the mix: (kind, send) where send(client) returns the response.
Request = tuple[str, Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]]


async def _one(client: httpx.AsyncClient, request: Request) -> Outcome:
    kind, send = request
    started = time.monotonic()
    try:
        response = await send(client)
    except httpx.HTTPError as exc:
        return Outcome(kind, started, time.monotonic() - started, None, error=repr(exc))
    elapsed = time.monotonic() - started
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    return Outcome(
        kind, started, elapsed, response.status_code, response.headers.get("retry-after"), body
    )


async def run_load(
    target: str | httpx.ASGITransport,
    mix: Callable[[random.Random], Request],
    *,
    clients: int,
    stop: asyncio.Event,
    max_requests: int = 50_000,
    pause: float = 0.0,
) -> list[Outcome]:
    """`clients` loops sending mix(rng) requests until `stop` is set (or max_requests), to a
    base URL or to an in-process app's transport."""
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    if isinstance(target, str):
        client = httpx.AsyncClient(base_url=target, timeout=20, limits=limits)
    else:
        client = httpx.AsyncClient(transport=target, base_url="http://brisk.test", timeout=20)

    async with client:

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set() and len(outcomes) < max_requests:
                outcomes.append(await _one(client, mix(rng)))
                if pause:
                    await asyncio.sleep(pause)

        await asyncio.gather(*(worker(k) for k in range(clients)))
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts by status and the slowest requests, for failure messages and the docs."""
    by_status: dict[str, int] = {}
    for o in outcomes:
        key = str(o.status) if o.status is not None else "no answer"
        by_status[key] = by_status.get(key, 0) + 1
    durations = sorted(o.elapsed for o in outcomes)
    p99 = durations[int(0.99 * (len(durations) - 1))] if durations else 0.0
    return {
        "requests": len(outcomes),
        "by_status": by_status,
        "p99_ms": round(p99 * 1000, 1),
        "max_ms": round((durations[-1] if durations else 0.0) * 1000, 1),
    }
