"""Versioned SQL migrations (`migrations/NNNN_name.sql`), applied once each, in order, locked."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant shared by every brisk process: several workers starting at once migrate once.
_ADVISORY_LOCK_KEY = 0x6272_6973_6B00  # "brisk\0"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


async def migrate(
    url: str, directory: Path = MIGRATIONS_DIR, *, role_settings: Mapping[str, str] | None = None
) -> list[Migration]:
    """Apply the pending migrations; returns what was applied (empty when up to date).

    Works through PgBouncer in transaction mode as well as directly: no named prepared
    statements, and the lock is a transaction-level advisory lock taken in each migration's
    own transaction (a session lock would stay behind on whichever server connection
    PgBouncer lent). `role_settings` become defaults of the migrating role in this database
    (`ALTER ROLE ... IN DATABASE ... SET`), which reach every server connection PgBouncer opens.
    """
    conn = await asyncpg.connect(url, statement_cache_size=0)
    try:
        done = []
        for migration in discover(directory):
            # One transaction per file: a failing migration leaves the schema as it was.
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK_KEY)
                await conn.execute(_CREATE_TABLE)
                if await _apply(conn, migration):
                    done.append(migration)
        for name, value in (role_settings or {}).items():
            await _set_role_default(conn, name, value)
        return done
    finally:
        await conn.close()


_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())"
)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> bool:
    """Apply one migration unless done already (checked under the lock); True if applied."""
    applied = await conn.fetchval(
        "SELECT true FROM schema_migrations WHERE version = $1", migration.version
    )
    if applied:
        return False
    await conn.execute(migration.sql)
    await conn.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        migration.version,
        migration.name,
    )
    log.info("applied migration %04d_%s", migration.version, migration.name)
    return True


async def _set_role_default(conn: asyncpg.Connection, name: str, value: str) -> None:
    # Identifiers and values cannot be parameters in ALTER ROLE: quote them on the server.
    database = await conn.fetchval("SELECT quote_ident(current_database())")
    quoted = await conn.fetchval("SELECT quote_literal($1::text)", value)
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a setting name: {name!r}")
    await conn.execute(f"ALTER ROLE CURRENT_USER IN DATABASE {database} SET {name} = {quoted}")
    log.info("role default in this database: %s = %s", name, value)
