"""Read replicas and how far behind each one is (ADR 0012).

Lag is measured, not guessed from timestamps: every poll reads the primary's WAL position
P(t) at a moment t (taken *before* the query is sent, so every write acknowledged before t is
at or below P(t)), then each replica's replayed position R. A replica that has replayed
R >= P(t) holds every write acknowledged before t; its lag is now - the latest such t. This
stays right when the primary is idle (no fake lag from old replay timestamps) and costs two
tiny queries per poll per process.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg

from brisk.db.server import open_pool
from brisk.settings import DbSettings

log = logging.getLogger(__name__)

PRIMARY_LSN = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8"
# NULL on a server that is not in recovery (it is a primary: nothing to replay).
REPLAY_LSN = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8"


@dataclass(eq=False)
class Replica:
    name: str  # host:port/db, for logs (never the password)
    pool: asyncpg.Pool
    # The monotonic time of the newest primary sample this replica has replayed.
    caught_up_at: float = -math.inf

    def lag(self, now: float) -> float:
        return now - self.caught_up_at

    def mark_down(self) -> None:
        """Out of use until the next successful poll (it failed a query or a connect)."""
        if self.caught_up_at != -math.inf:
            log.warning("read replica %s failed; reads go to the primary", self.name)
        self.caught_up_at = -math.inf


@dataclass(eq=False)
class Replicas:
    replicas: list[Replica]
    primary: asyncpg.Pool
    settings: DbSettings
    # (monotonic time, primary WAL position) of recent polls, oldest first.
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, urls: list[str], settings: DbSettings, primary: asyncpg.Pool) -> Replicas:
        """Pools open lazily (min size 0): a replica down at startup is skipped, not fatal."""
        replicas = [Replica(_name(url), await open_pool(url, settings, min_size=0)) for url in urls]
        self = cls(replicas, primary, settings)
        await self.poll()
        self._task = asyncio.create_task(self._monitor(), name="brisk-replica-lag")
        return self

    def pick(self) -> Replica | None:
        """A replica within the lag bound, taking turns; None when none is."""
        now = time.monotonic()
        fresh = [r for r in self.replicas if r.lag(now) <= self.settings.replica_max_lag_seconds]
        if not fresh:
            return None
        return fresh[next(self._turn) % len(fresh)]

    async def poll(self) -> None:
        timeout = self.settings.replica_max_lag_seconds
        sampled_at = time.monotonic()
        try:
            async with self.primary.acquire(timeout=timeout) as conn:
                position = int(await conn.fetchval(PRIMARY_LSN, timeout=timeout))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return  # the primary's trouble is the request path's to report
        self.samples.append((sampled_at, position))
        horizon = sampled_at - 2 * self.settings.replica_max_lag_seconds - 1
        while len(self.samples) > 1 and self.samples[0][0] < horizon:
            self.samples.popleft()
        await asyncio.gather(*(self._poll_one(r, sampled_at) for r in self.replicas))

    async def _poll_one(self, replica: Replica, sampled_at: float) -> None:
        timeout = self.settings.replica_max_lag_seconds
        try:
            async with replica.pool.acquire(timeout=timeout) as conn:
                replayed = await conn.fetchval(REPLAY_LSN, timeout=timeout)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            replica.mark_down()
            return
        if replayed is None:  # not in recovery: a primary of its own, current by definition
            replica.caught_up_at = sampled_at
            return
        caught_up = [t for t, position in self.samples if position <= replayed]
        if caught_up:
            replica.caught_up_at = max(replica.caught_up_at, max(caught_up))

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replica_poll_seconds)
            await self.poll()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*(r.pool.close() for r in self.replicas))

    def terminate(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for replica in self.replicas:
            replica.pool.terminate()


def _name(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"
