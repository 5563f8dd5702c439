"""Per-request CPU cost of the telemetry middleware, without a network or a server.

Drives the ASGI app directly (a bare app answering 1 KB of JSON, the way a cached read ends)
with and without TelemetryMiddleware around it, N requests each, alternating rounds, and prints
the median extra microseconds per request. Not a test: `python tests/perf/telemetry_overhead.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from typing import Any

from brisk.observability.logs import AccessLog
from brisk.observability.metrics import Metrics
from brisk.observability.middleware import Answers, TelemetryMiddleware

BODY = b'{"x":"' + b"a" * 1000 + b'"}'
ROUNDS = 7
REQUESTS = 20_000


class Route:
    path_format = "/api/articles/{slug}"


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = Route  # what the router leaves for the middleware to read
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1008")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(_message: dict[str, Any]) -> None:
    return None


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/articles/how-to-train-your-dragon-1a2b3c",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    }


async def run(app: Any) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await app(scope(), receive, send)
    return (time.perf_counter() - started) / REQUESTS * 1e6


async def main() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    variants = {
        "bare": bare,
        "telemetry, no access log": TelemetryMiddleware(bare, Metrics()),
        "telemetry + access log": TelemetryMiddleware(
            bare,
            metrics := Metrics(),
            answers=Answers(metrics, access_log=AccessLog(lambda line: os.write(devnull, line))),
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, app in variants.items():
            times[name].append(await run(app))
    base = statistics.median(times["bare"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:28} {median:6.2f} us/request  (+{median - base:5.2f} us)", file=sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
