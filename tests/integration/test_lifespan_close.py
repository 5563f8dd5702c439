"""The lifespan's close is bounded: a close that would wait forever (a connection still
borrowed, a server that is gone) drops the connections after `CLOSE_SECONDS` and ends. A
granian worker whose main process had died hung in it for good after a test's teardown,
retrying PostgreSQL every few milliseconds, with nobody left to kill it."""

from __future__ import annotations

import asyncio

import pytest
from asgi_lifespan import LifespanManager

from brisk import app as app_module
from brisk.app import create_app
from brisk.settings import Settings

pytestmark = pytest.mark.integration

# A hang guard, not a speed check.
GUARD_SECONDS = 30


async def test_a_close_that_would_hang_drops_the_connections_and_ends(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app_module, "CLOSE_SECONDS", 0.5)
    app = create_app(settings)
    manager = LifespanManager(app, shutdown_timeout=GUARD_SECONDS)
    await manager.__aenter__()
    pool = app.state.services.db.pool
    borrowed = await pool.acquire()  # never given back: pool.close() waits for it forever
    async with asyncio.timeout(GUARD_SECONDS):
        await manager.__aexit__(None, None, None)
    assert pool.is_closing()
    assert pool.get_size() == 0  # every connection dropped, the borrowed one too
    assert any("closing took over" in r.getMessage() for r in caplog.records)
    del borrowed
