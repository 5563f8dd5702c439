"""Every named query, planned against a seeded and ANALYZEd database, uses an index on the big
tables: no sequential scan in the plan PostgreSQL runs for it.

brisk's connections run prepared statements with plan_cache_mode=force_generic_plan (planned
once, without the parameter values), so the generic plan is the one that runs and must be an
index plan; the custom plan (what `auto` may pick) is held to the same rule."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from brisk.db.plans import explain, seq_scans
from brisk.db.queries import REGISTRY
from brisk.doctor.samples import ARGS, Sample, request_queries, sample_from
from brisk.lab.seed import SCALES, seed_database
from brisk.services import all_queries
from tests.conftest import create_scratch_database, drop_database

# The tables that grow with use. `users` is left out: at the seeded scale a hash join over all
# users is legitimately the cheapest plan for a viewer following a large share of them.
BIG_TABLES = frozenset(
    {"articles", "favorites", "follows", "comments", "article_tags", "notifications"}
)


@pytest.fixture(scope="module")
async def seeded(servers: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Connection, Sample]]:
    admin_url = servers[0]
    url = await create_scratch_database(admin_url, "brisk_plans")
    await seed_database(url, SCALES["XS"], seed=7)
    conn = await asyncpg.connect(url)
    await conn.execute("VACUUM ANALYZE")
    try:
        yield conn, await sample_from(conn)
    finally:
        await conn.close()
        await drop_database(admin_url, url)


REQUEST_QUERIES = request_queries(all_queries())


def test_every_request_query_has_sample_arguments() -> None:
    assert sorted(ARGS) == REQUEST_QUERIES


@pytest.mark.parametrize("name", REQUEST_QUERIES)
async def test_query_uses_indexes(seeded: tuple[asyncpg.Connection, Sample], name: str) -> None:
    conn, sample = seeded
    query = REGISTRY[name]
    args = ARGS[name](sample)
    custom = await explain(conn, query, args, mode="force_custom_plan", analyze=True)
    generic = await explain(conn, query, args, mode="force_generic_plan", analyze=False)
    assert seq_scans(custom, BIG_TABLES) == [], (
        f"{name}: custom plan scans a big table sequentially"
    )
    assert seq_scans(generic, BIG_TABLES) == [], (
        f"{name}: generic plan scans a big table sequentially"
    )
