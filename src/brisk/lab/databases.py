"""The lab's scratch databases on the configured PostgreSQL: one seeded data set per scale and
seed, kept for the next run, and per run two copies of it (the bench writes): one as shipped,
one without secondary indexes (the "before" schema)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from brisk.db.migrations import migrate
from brisk.lab.seed import SCALES, ProgressFn, drop_secondary_indexes, seed_database

# Bumped when the seeded data would differ for the same scale and seed: old sets are reloaded.
DATASET_VERSION = 8


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _marker(scale: str, seed: int) -> str:
    return f"brisk lab data set v{DATASET_VERSION} scale={scale} seed={seed}"


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def ensure_dataset(
    url: str, scale: str, seed: int, progress: ProgressFn, *, prefix: str = "brisk_lab"
) -> str:
    """A database holding `brisk seed --scale SCALE --seed SEED`, loaded only if missing.

    Two benches started together on one server would both find the set missing and the
    second's DROP ... WITH (FORCE) would end the first's load: the check and the load run
    under a session advisory lock on the set's name, so the second waits and then reuses it."""
    name = f"{prefix}_{scale.lower()}_{seed}"
    admin = await _admin(url)
    try:
        await admin.execute("SELECT pg_advisory_lock(hashtext($1))", name)
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        if comment == _marker(scale, seed):
            return with_database(url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        target = with_database(url, name)
        await seed_database(target, SCALES[scale], seed=seed, progress=progress, force=True)
        # Written last: an interrupted load is never mistaken for a complete one.
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{_marker(scale, seed)}'")
        return target
    finally:
        await admin.close()  # ends the session, and its lock


async def clone(url: str, source: str, name: str, *, indexes: bool) -> str:
    """A file-level copy of `source` (its statistics and visibility map too); without the
    secondary indexes when `indexes` is false."""
    admin = await _admin(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        await admin.close()
    target = with_database(url, name)
    await migrate(target)  # a no-op on a current copy; it keeps an old data set usable
    if not indexes:
        conn = await asyncpg.connect(target)
        try:
            await drop_secondary_indexes(conn)
        finally:
            await conn.close()
    return target


async def drop(url: str, name: str) -> None:
    admin = await _admin(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def transactions(url: str) -> int:
    """Committed + rolled-back transactions of that database so far (pg_stat_database)."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()
