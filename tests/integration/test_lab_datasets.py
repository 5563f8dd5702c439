"""The lab's seeded data sets on a shared PostgreSQL: two benches that start together load a
set once and both use it."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from brisk.lab import databases

pytestmark = pytest.mark.integration


async def test_two_benches_at_once_load_the_data_set_once(servers: tuple[str, str]) -> None:
    """Both found the set missing, and the second's DROP ... WITH (FORCE) ended the first's
    load ("the underlying connection is closed"); now the second waits for the first."""
    admin_url = servers[0]
    prefix = f"brisk_test_lab{os.getpid()}"
    loads: dict[str, int] = {"a": 0, "b": 0}

    def progress(who: str) -> databases.ProgressFn:
        def step(_table: str, _done: int, _total: int) -> None:
            loads[who] += 1

        return step

    try:
        first, second = await asyncio.gather(
            databases.ensure_dataset(admin_url, "XS", 7, progress("a"), prefix=prefix),
            databases.ensure_dataset(admin_url, "XS", 7, progress("b"), prefix=prefix),
        )
        assert first == second
        assert sorted(count > 0 for count in loads.values()) == [False, True], loads
        conn = await asyncpg.connect(first)
        try:
            assert await conn.fetchval("SELECT count(*) FROM users") == 500
        finally:
            await conn.close()
    finally:
        await databases.drop(admin_url, f"{prefix}_xs_7")
