"""The naive app's database connections: one per request (or a pool), under a hard cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import cast

import asyncpg


class Connections:
    """A new connection per request unless `pool`; never more than `cap` open at once.

    With concurrent reads a naive page opens one per article, and on a shared server that
    exhausted max_connections (other clients got "remaining connection slots are reserved"),
    so requests wait for a slot instead.
    """

    def __init__(self, url: str, *, pool: bool, pool_size: int, cap: int, fan_out: bool) -> None:
        self.url = url
        self.use_pool = pool
        self.pool_size = min(pool_size, cap)
        # Requests and the reads they fan out take slots from separate halves of the cap: a
        # request holding a slot while it waits for more can then never wait on another such
        # request (one shared count deadlocked as soon as clients outnumbered it).
        reads = cap // 2 if fan_out else 0
        self._slots = {
            "requests": asyncio.Semaphore(max(1, cap - reads)),
            "reads": asyncio.Semaphore(max(1, reads)),
        }
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self.use_pool:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @asynccontextmanager
    async def connect(self, slots: str = "requests") -> AsyncIterator[asyncpg.Connection]:
        if self._pool is not None:
            async with self._pool.acquire() as pooled:
                yield cast(asyncpg.Connection, pooled)
            return
        async with self._slots[slots]:
            conn = await asyncpg.connect(self.url)
            try:
                yield conn
            finally:
                await conn.close()

    def connect_read(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection for a read a request fans out (the other half of the cap)."""
        return self.connect("reads")
