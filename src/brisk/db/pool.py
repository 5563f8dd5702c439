"""One bounded asyncpg pool per process; acquiring past its timeout is a 503, never a hang."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar, cast

import asyncpg

from brisk.db.queries import Query
from brisk.db.replicas import Replica, Replicas
from brisk.db.routing import replica_reads_allowed
from brisk.db.server import inspect_server, open_pool
from brisk.errors import InvalidInputError, NotFoundError, ServiceUnavailableError
from brisk.settings import DbSettings

log = logging.getLogger(__name__)

# Errors that mean "the database is not reachable right now", not "your query is wrong".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    # The server shutting down or restarting under an open connection (fast or crash shutdown).
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)

QueryObserver = Callable[[str, float], None]
AcquireObserver = Callable[[float], None]
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

    def __init__(
        self, pool: asyncpg.Pool, settings: DbSettings, replicas: Replicas | None = None
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.replicas = replicas
        self.observers: list[QueryObserver] = []
        # Called with the seconds each acquire waited for a connection (metrics).
        self.acquire_observers: list[AcquireObserver] = []
        # Callers waiting for a connection right now (sampled into a gauge).
        self.waiting = 0

    @asynccontextmanager
    async def connection(self, pool: asyncpg.Pool | None = None) -> AsyncIterator[Connection]:
        """A connection of the primary (or of `pool`), with errors turned into domain errors."""
        started = time.perf_counter()
        self.waiting += 1
        waiting = True
        try:
            # asyncpg shields the release, so a cancelled request still returns its connection.
            acquiring = (pool or self.pool).acquire(timeout=self.settings.acquire_timeout_seconds)
            async with acquiring as raw:
                self.waiting -= 1
                waiting = False
                waited = time.perf_counter() - started
                for observer in self.acquire_observers:
                    observer(waited)
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
        except asyncpg.TransactionRollbackError as exc:
            # A deadlock (40P01) or a serialization failure (40001): PostgreSQL rolled this
            # transaction back because of another one, so nothing of it was kept and the same
            # request may simply be sent again -- a 503 with Retry-After, not a 500.
            raise ServiceUnavailableError(
                "the database undid this request for a conflicting one; send it again"
            ) from exc
        except UNAVAILABLE_ERRORS as exc:
            raise ServiceUnavailableError("the database is unavailable, try again shortly") from exc
        finally:
            if waiting:  # the acquire itself failed or was cancelled
                self.waiting -= 1

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.connection() as conn:
            try:
                async with conn.raw.transaction():
                    yield conn
            except asyncpg.InterfaceError as exc:
                # The server went away mid-transaction (restart, crash): asyncpg cannot even
                # roll back and says "the underlying connection is closed". Not committed.
                if _lost(conn.raw):
                    raise ServiceUnavailableError(
                        "the database is unavailable, try again shortly"
                    ) from exc
                raise

    def _replica_for(self, query: Query) -> Replica | None:
        if self.replicas is None or not query.read_only or not replica_reads_allowed():
            return None
        return self.replicas.pick()

    async def _read(self, run: Callable[[Connection], Awaitable[T]], query: Query) -> T:
        """On a replica when the request tolerates lag and one is current enough; on the
        primary otherwise, and when the replica fails (a read is safe to run twice)."""
        replica = self._replica_for(query)
        if replica is not None:
            try:
                async with self.connection(replica.pool) as conn:
                    return await run(conn)
            except (ServiceUnavailableError, asyncpg.SerializationError):
                # Unreachable, or a query cancelled by a recovery conflict (40001).
                replica.mark_down()
        async with self.connection() as conn:
            return await run(conn)

    async def fetch(self, query: Query, *args: Any) -> list[asyncpg.Record]:
        return await self._read(lambda conn: conn.fetch(query, *args), query)

    async def fetchrow(self, query: Query, *args: Any) -> asyncpg.Record | None:
        return await self._read(lambda conn: conn.fetchrow(query, *args), query)

    async def fetchval(self, query: Query, *args: Any) -> Any:
        return await self._read(lambda conn: conn.fetchval(query, *args), query)

    async def execute(self, query: Query, *args: Any) -> str:
        async with self.connection() as conn:
            return await conn.execute(query, *args)

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()
        await self.pool.close()

    def terminate(self) -> None:
        """Drop every connection at once, borrowed or not (when a graceful close hangs)."""
        if self.replicas is not None:
            self.replicas.terminate()
        self.pool.terminate()


def _lost(raw: asyncpg.Connection) -> bool:
    try:
        return raw.is_closed()
    except asyncpg.InterfaceError:
        return True  # the pool took it back from under us: it does that when it closes


async def create_database(
    url: str, settings: DbSettings, replica_urls: Sequence[str] = ()
) -> Database:
    """Open the pool and its first connection now, so a bad URL fails at startup, not later;
    replicas open lazily and join when their lag is known (brisk.db.replicas)."""
    resolved = await inspect_server(url, settings)
    pool = await open_pool(url, resolved, min_size=max(settings.pool_min_size, 1))
    replicas = await Replicas.open(list(replica_urls), resolved, pool) if replica_urls else None
    log.info(
        "database pool ready",
        extra={"pool_max_size": resolved.pool_max_size, "replicas": len(replica_urls)},
    )
    return Database(pool, resolved, replicas)
