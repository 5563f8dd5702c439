"""One bounded asyncpg pool per process; acquiring past its timeout is a 503, never a hang."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar, cast

import asyncpg

from brisk.db.queries import Query
from brisk.errors import InvalidInputError, NotFoundError, ServiceUnavailableError
from brisk.settings import DbSettings, cpu_count

log = logging.getLogger(__name__)

# Connections left free on the server for psql, migrations and monitoring.
SERVER_HEADROOM = 5
# Errors that mean "the database is not reachable right now", not "your query is wrong".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)

QueryObserver = Callable[[str, float], None]
T = TypeVar("T")


class Executor(Protocol):
    """What repositories run SQL on: the pool (a connection per call) or one transaction."""

    async def fetch(self, query: Query, *args: Any) -> list[asyncpg.Record]: ...
    async def fetchrow(self, query: Query, *args: Any) -> asyncpg.Record | None: ...
    async def fetchval(self, query: Query, *args: Any) -> Any: ...
    async def execute(self, query: Query, *args: Any) -> str: ...


class Connection:
    """A pooled connection that runs named queries and reports each to the observers."""

    __slots__ = ("_observers", "raw")

    def __init__(self, raw: asyncpg.Connection, observers: list[QueryObserver]) -> None:
        self.raw = raw
        self._observers = observers

    async def _run(
        self, call: Callable[..., Awaitable[T]], query: Query, args: tuple[Any, ...]
    ) -> T:
        """Run one named query, reporting its name and duration even when it fails."""
        started = time.perf_counter()
        try:
            return await call(query.sql, *args)
        finally:
            elapsed = time.perf_counter() - started
            for observer in self._observers:
                observer(query.name, elapsed)

    async def fetch(self, query: Query, *args: Any) -> list[asyncpg.Record]:
        return await self._run(self.raw.fetch, query, args)

    async def fetchrow(self, query: Query, *args: Any) -> asyncpg.Record | None:
        return await self._run(self.raw.fetchrow, query, args)

    async def fetchval(self, query: Query, *args: Any) -> Any:
        return await self._run(self.raw.fetchval, query, args)

    async def execute(self, query: Query, *args: Any) -> str:
        return await self._run(self.raw.execute, query, args)


class Database:
    """The process's pool; each call borrows a connection only for as long as it runs."""

    def __init__(self, pool: asyncpg.Pool, settings: DbSettings) -> None:
        self.pool = pool
        self.settings = settings
        self.observers: list[QueryObserver] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        try:
            # asyncpg shields the release, so a cancelled request still returns its connection.
            async with self.pool.acquire(timeout=self.settings.acquire_timeout_seconds) as raw:
                # The pool hands out a proxy that behaves as the connection it wraps.
                yield Connection(cast(asyncpg.Connection, raw), self.observers)
        except TimeoutError as exc:
            raise ServiceUnavailableError("the database is busy, try again shortly") from exc
        except asyncpg.DataError as exc:
            # Schemas bound what reaches SQL; this is the net for a value PostgreSQL still
            # refuses (out of range, not storable as text): the client's input, so a 422.
            raise InvalidInputError("a value is out of range or not valid text") from exc
        except asyncpg.ForeignKeyViolationError as exc:
            # A token's user or an article vanished between the check and the write.
            raise NotFoundError("user or article") from exc
        except UNAVAILABLE_ERRORS as exc:
            raise ServiceUnavailableError("the database is unavailable, try again shortly") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.connection() as conn, conn.raw.transaction():
            yield conn

    async def fetch(self, query: Query, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: Query, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: Query, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: Query, *args: Any) -> str:
        async with self.connection() as conn:
            return await conn.execute(query, *args)

    async def close(self) -> None:
        await self.pool.close()


async def pool_max_size(url: str, settings: DbSettings) -> int:
    """Size from the cores, capped by this process's share of the server's max_connections."""
    if settings.pool_max_size is not None:
        return settings.pool_max_size
    conn = await asyncpg.connect(url, timeout=settings.connect_timeout_seconds)
    try:
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
    finally:
        await conn.close()
    share = (max_connections - reserved - SERVER_HEADROOM) // settings.workers
    # An event loop keeps a few queries in flight per core; more connections only queue in PG.
    return max(2, min(4 * cpu_count() + 4, share))


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip on every release, and brisk's requests leave none of that state
    behind. asyncpg still rolls back a transaction left open before calling this."""


async def create_database(url: str, settings: DbSettings) -> Database:
    """Open the pool and its first connection now, so a bad URL fails at startup, not later."""
    max_size = await pool_max_size(url, settings)
    pool = await asyncpg.create_pool(
        url,
        min_size=min(max(settings.pool_min_size, 1), max_size),
        max_size=max_size,
        timeout=settings.connect_timeout_seconds,
        command_timeout=settings.command_timeout_seconds,
        statement_cache_size=settings.statement_cache_size,
        server_settings={
            "application_name": "brisk",
            "timezone": "UTC",
            "plan_cache_mode": settings.plan_cache_mode,
        },
        reset=_keep_session,
    )
    log.info("database pool ready", extra={"pool_max_size": max_size})
    return Database(pool, settings)
