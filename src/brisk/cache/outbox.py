"""Invalidations that commit with the write, and the relay that applies them (ADR 0014).

A write records what it makes stale in its own transaction (one INSERT into `cache_outbox`), so
the record exists exactly when the write does. Right after the commit the writer applies it to
Redis itself, as before, and queues the row for deletion. If it could not (Redis unreachable,
breaker open) or died first (SIGTERM, SIGKILL, a lost host), the row stays, and the relay of
any live instance applies it: a task per process that every `outbox_relay_seconds` claims rows
older than `outbox_grace_seconds` with FOR UPDATE SKIP LOCKED, sends them, and deletes them in
the same transaction, which commits only once Redis took them. Applying a row twice is harmless
(a deleted key stays deleted; a renewed version token only causes misses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import asyncpg

from brisk.db import Database, Executor, load_queries
from brisk.db.pool import Connection

log = logging.getLogger(__name__)
Q = load_queries(Path(__file__).with_name("outbox.sql"))
# Rows claimed per relay transaction; a backlog drains in a few rounds.
CLAIM_BATCH = 200

# Sends (key names, version names) to Redis; raises when Redis did not take them.
Send = Callable[[list[str], list[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Stale:
    """What a committed write made stale; `row` is its outbox row when it was recorded."""

    names: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    row: int | None = None


class Outbox:
    """The `cache_outbox` rows of one cache namespace."""

    def __init__(self, db: Database, namespace: str) -> None:
        self.db = db
        self.namespace = namespace
        self._applied: list[int] = []
        # Rows this process relayed (a counter for tests and metrics).
        self.relayed = 0

    async def record(self, tx: Executor, names: list[str], versions: list[str]) -> int:
        row = await tx.fetchval(Q["record-invalidation"], self.namespace, names, versions)
        return int(row)

    def applied(self, row: int) -> None:
        """The writer applied its own row: delete it with the next batch, not on the hot path."""
        self._applied.append(row)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        # Background work, not a request's: not reported to the per-request query observers.
        timeout = self.db.settings.acquire_timeout_seconds
        async with self.db.pool.acquire(timeout=timeout) as raw:
            yield Connection(cast(asyncpg.Connection, raw), [])

    async def forget_applied(self) -> None:
        rows, self._applied = self._applied, []
        if rows:
            try:
                async with self._connection() as conn:
                    await conn.execute(Q["forget-invalidations"], rows)
            except BaseException:
                self._applied.extend(rows)  # kept: another try next round
                raise

    async def relay(self, send: Send, *, min_age: float) -> int:
        """Apply and delete claimable rows until none is left; how many were relayed."""
        total = 0
        while True:
            async with self._connection() as tx, tx.raw.transaction():
                rows = await tx.fetch(
                    Q["claim-invalidations"], self.namespace, min_age, CLAIM_BATCH
                )
                if not rows:
                    return total
                names = sorted({name for r in rows for name in r["keys"]})
                versions = sorted({v for r in rows for v in r["versions"]})
                await send(names, versions)  # raising rolls the claim back: the rows stay
            total += len(rows)
            self.relayed += len(rows)
            if len(rows) < CLAIM_BATCH:
                return total


class Relay:
    """The per-process task that applies what other (or dead) writers left in the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        send: Send,
        *,
        interval: float,
        grace: float,
        paused: Callable[[], bool],
    ) -> None:
        self.outbox = outbox
        self._send = send
        self._interval = interval
        self._grace = grace
        self._paused = paused
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="brisk-cache-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # So other instances need not replay what this one already applied.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.outbox.forget_applied()

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.outbox.forget_applied()
                if not self._paused():  # while the breaker is open its probe drains instead
                    await self.outbox.relay(self._send, min_age=self._grace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:  # once per outage, not every round
                    log.warning("cache outbox relay failing (will retry): %s", exc)
                failing = True
            else:
                failing = False
