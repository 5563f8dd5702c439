"""Readiness means "can serve": PostgreSQL answers and the process is not draining. A Redis
outage is reported (body and metrics) but keeps the instance in the load balancer, since the
cache and the limits fail open; on SIGTERM readiness turns 503 while the rest still answers."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from tests.conftest import create_scratch_database, drop_database, make_settings
from tests.integration.live import serve, wait_ready
from tests.redis_servers import free_port

pytestmark = pytest.mark.integration


async def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://brisk.test")


def _gauge(metrics_text: str, dependency: str) -> float:
    prefix = f'brisk_dependency_up{{dependency="{dependency}"}} '
    (line,) = [line for line in metrics_text.splitlines() if line.startswith(prefix)]
    return float(line.removeprefix(prefix))


async def test_ready_with_redis_down_is_degraded_not_failing(database_url: str) -> None:
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_settings(database_url, nothing_listens))
    async with LifespanManager(app), await _client(app) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "degraded", "database": "ok", "redis": "down"}
        assert (await client.get("/api/tags")).status_code == 200  # served from PostgreSQL
        metrics = (await client.get("/metrics")).text
        assert _gauge(metrics, "redis") == 0
        assert _gauge(metrics, "database") == 1


async def test_ready_with_everything_up_is_ok(client: httpx.AsyncClient) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.fixture
async def own_database(servers: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_scratch_database(servers[0], "brisk_ready")
    yield url
    await drop_database(servers[0], url)


async def test_ready_fails_when_postgres_refuses_connections(
    own_database: str, servers: tuple[str, str]
) -> None:
    name = own_database.rsplit("/", 1)[1]
    app = create_app(make_settings(own_database, servers[1]))
    admin = await asyncpg.connect(servers[0])
    try:
        async with LifespanManager(app), await _client(app) as client:
            assert (await client.get("/health/ready")).status_code == 200
            # Refused even to superusers; the pool's open connections are cut.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.headers["retry-after"] == "1"
            assert ready.json() == {"errors": {"body": ["not ready: database down"]}}
            assert _gauge((await client.get("/metrics")).text, "database") == 0
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (await client.get("/health/ready")).status_code == 200
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_sigterm_turns_readiness_503_before_the_server_stops(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    served = serve(
        database_url, servers[1], tmp_path / "serve.log", env={"BRISK_HTTP__DRAIN_SECONDS": "3"}
    )
    try:
        await wait_ready(served)
        served.process.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient(base_url=served.base, timeout=5) as client:
            deadline = time.monotonic() + 10  # a hang guard, far above the 3 s drain
            while (await client.get("/health/ready")).status_code != 503:
                assert time.monotonic() < deadline, "readiness never turned 503"
                await asyncio.sleep(0.05)
            draining = await client.get("/health/ready")
            assert draining.json() == {"errors": {"body": ["not ready: draining"]}}
            # Still serving everything else while the load balancer takes it out.
            assert (await client.get("/api/tags")).status_code == 200
            assert served.process.poll() is None
        status = await asyncio.to_thread(served.process.wait, 30)
        assert status == 0, served.output()[-3000:]
        assert "readiness is 503 now" in served.output()
    finally:
        served.stop()
