"""CPU per request of the whole app on the cache's ASGI fast path, telemetry off / on / on
without the access line: in-process ASGI calls, no server, no network.

    BRISK_DATABASE_URL=<seeded db> BRISK_REDIS_URL=... taskset -c 1 python \
        tests/perf/fastpath_telemetry_cpu.py

Not a test. Three apps in one process (fresh cache namespace), each warmed so the article is in
its L1, then 7 alternating rounds of 5,000 anonymous GETs of one article each; medians.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.settings import Settings

VARIANTS: dict[str, dict[str, Any]] = {
    "off": {"enabled": False},
    "on": {},
    "on, no access log": {"access_log": False},
}


async def _run(app: Any, path: str, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)
    return (time.perf_counter() - started) / n * 1e6


async def main() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the access lines
    apps, managers = {}, []
    for name, telemetry in VARIANTS.items():
        settings = Settings(
            database_url=os.environ["BRISK_DATABASE_URL"],
            redis_url=os.environ["BRISK_REDIS_URL"],
            secret_key="bench-secret-" + "x" * 40,  # type: ignore[arg-type]
            cache={"namespace": f"telemetry-cpu-{os.getpid()}"},  # type: ignore[arg-type]
            telemetry=telemetry,  # type: ignore[arg-type]
        )
        manager = LifespanManager(create_app(settings))
        await manager.__aenter__()
        managers.append(manager)
        apps[name] = manager.app
    transport = httpx.ASGITransport(app=apps["off"])
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        slug = (await client.get("/api/articles?limit=1")).json()["articles"][0]["slug"]
    path = f"/api/articles/{slug}"
    for app in apps.values():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(3):
                assert (await client.get(path)).status_code == 200
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(7):
        for name, app in apps.items():
            times[name].append(await _run(app, path, 5000))
    off = statistics.median(times["off"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:20} {median:6.1f} us/request  (+{median - off:5.1f} us)")
    for manager in managers:
        await manager.__aexit__(None, None, None)


if __name__ == "__main__":
    asyncio.run(main())
