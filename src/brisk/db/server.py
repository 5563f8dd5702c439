"""Opening pools on a PostgreSQL server, directly or through PgBouncer (ADR 0013).

PgBouncer in transaction mode hands each transaction to any server connection, so:
- a startup parameter it does not track (plan_cache_mode) makes it refuse the connection
  (before 1.18's `ignore_startup_parameters`): only the ones it tracks are sent, and
  plan_cache_mode comes from the role's settings instead (`brisk migrate` sets them);
- named prepared statements live on one server connection and vanish for the next
  transaction (before 1.21): asyncpg's statement cache is off unless set explicitly;
- the server's max_connections says nothing about how many clients PgBouncer accepts, so the
  pool is sized from the cores alone.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from brisk.settings import DbSettings, cpu_count

log = logging.getLogger(__name__)

# Connections left free on the server for psql, migrations and monitoring.
SERVER_HEADROOM = 5
# What PgBouncer says about a startup parameter it does not track.
_PGBOUNCER_REFUSAL = "unsupported startup parameter"


def server_settings(settings: DbSettings) -> dict[str, str]:
    """Session settings sent at connection start (PgBouncer tracks application_name and
    TimeZone, so those two are safe through it)."""
    sent = {"application_name": "brisk", "timezone": "UTC"}
    if not settings.pgbouncer:
        sent["plan_cache_mode"] = settings.plan_cache_mode
    return sent


def statement_cache_size(settings: DbSettings) -> int:
    """asyncpg's named prepared statements per connection: off behind PgBouncer unless the
    operator set a size (PgBouncer 1.21+ with max_prepared_statements keeps them)."""
    if settings.pgbouncer and "statement_cache_size" not in settings.model_fields_set:
        return 0
    return settings.statement_cache_size


def _looks_like_pgbouncer(exc: BaseException) -> bool:
    return _PGBOUNCER_REFUSAL in str(exc)


async def inspect_server(url: str, settings: DbSettings) -> DbSettings:
    """Connect once as the pool will, to fail fast on a bad URL; if PgBouncer refuses the
    startup parameters, switch to PgBouncer mode (with a warning) instead of failing."""
    try:
        conn = await asyncpg.connect(
            url,
            timeout=settings.connect_timeout_seconds,
            statement_cache_size=statement_cache_size(settings),
            server_settings=server_settings(settings),
        )
    except asyncpg.PostgresError as exc:
        if settings.pgbouncer or not _looks_like_pgbouncer(exc):
            raise
        log.warning(
            "the server refused plan_cache_mode at startup (%s): PgBouncer, presumably; "
            "running in PgBouncer mode -- set BRISK_DB__PGBOUNCER=true to say so",
            exc,
        )
        return await inspect_server(url, settings.model_copy(update={"pgbouncer": True}))
    try:
        if settings.pool_max_size is None and not settings.pgbouncer:
            max_connections = int(await conn.fetchval("SHOW max_connections"))
            reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
            share = (max_connections - reserved - SERVER_HEADROOM) // settings.workers
            return settings.model_copy(update={"pool_max_size": pool_size_for(share)})
    finally:
        await conn.close()
    if settings.pool_max_size is None:
        return settings.model_copy(update={"pool_max_size": pool_size_for(None)})
    return settings


def pool_size_for(server_share: int | None) -> int:
    """From the cores, capped by this process's share of the server's connections (when the
    server is PostgreSQL itself; PgBouncer queues the excess for us)."""
    # An event loop keeps a few queries in flight per core; more connections only queue in PG.
    by_cores = 4 * cpu_count() + 4
    return by_cores if server_share is None else max(2, min(by_cores, server_share))


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip on every release, and brisk's requests leave none of that state
    behind. asyncpg still rolls back a transaction left open before calling this."""


async def open_pool(url: str, settings: DbSettings, *, min_size: int) -> asyncpg.Pool:
    """A pool on `url` with settings already resolved by inspect_server."""
    assert settings.pool_max_size is not None
    options: dict[str, Any] = {
        "min_size": min(min_size, settings.pool_max_size),
        "max_size": settings.pool_max_size,
        "timeout": settings.connect_timeout_seconds,
        "command_timeout": settings.command_timeout_seconds,
        "statement_cache_size": statement_cache_size(settings),
        "server_settings": server_settings(settings),
        "reset": _keep_session,
    }
    return await asyncpg.create_pool(url, **options)
