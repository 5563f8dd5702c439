"""brisk through PgBouncer 1.18 in transaction mode (Debian 12's), started here in front of the
test PostgreSQL: detected from its refusal of plan_cache_mode, no named prepared statements,
migrations through it, and the API under concurrent load over two server connections."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.db.migrations import migrate
from brisk.db.server import inspect_server
from brisk.settings import DbSettings
from tests.conftest import drop_database, make_settings, with_database
from tests.pg_servers import PGBOUNCER, PgBouncer, pg_available
from tests.redis_servers import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (Path(PGBOUNCER).exists() and pg_available()), reason="needs pgbouncer (apt)"
    ),
]


@pytest.fixture(scope="module")
async def bouncer(servers: tuple[str, str]) -> AsyncIterator[tuple[PgBouncer, str]]:
    """PgBouncer with two server connections per database; yields it and a scratch database
    name, created directly and migrated *through* PgBouncer."""
    admin = servers[0]
    target = urlsplit(admin)
    name = f"brisk_bouncer_{free_port()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    root = Path(tempfile.mkdtemp(prefix="brisk-pgbouncer-"))
    bouncer = PgBouncer(root, free_port())
    host = f"host={target.hostname} port={target.port or 5432}"
    await asyncio.to_thread(bouncer.start, {name: f"{host} dbname={name}"}, 2)
    try:
        yield bouncer, name
    finally:
        bouncer.stop()
        shutil.rmtree(root, ignore_errors=True)
        await drop_database(admin, with_database(admin, name))


async def test_migrations_run_through_pgbouncer_and_set_the_role_default(
    bouncer: tuple[PgBouncer, str], servers: tuple[str, str]
) -> None:
    pgb, name = bouncer
    applied = await migrate(pgb.url(name), role_settings={"plan_cache_mode": "force_generic_plan"})
    assert applied  # every migration, through transaction pooling
    assert await migrate(pgb.url(name)) == []  # and once only
    # A new server session in that database starts with the role's default.
    direct = await asyncpg.connect(with_database(servers[0], name))
    try:
        assert await direct.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    finally:
        await direct.close()


async def test_pgbouncer_is_detected_from_its_refusal(bouncer: tuple[PgBouncer, str]) -> None:
    pgb, name = bouncer
    resolved = await inspect_server(pgb.url(name), DbSettings())
    assert resolved.pgbouncer
    assert resolved.pool_max_size is not None


async def test_the_api_under_concurrent_load_through_pgbouncer(
    bouncer: tuple[PgBouncer, str], servers: tuple[str, str]
) -> None:
    pgb, name = bouncer
    await migrate(pgb.url(name))
    # Not told about PgBouncer: it finds out. 40 clients share 2 server connections, so each
    # query meets a server session other than the one it was prepared on, if it was.
    settings = make_settings(pgb.url(name), servers[1], db={"pool_max_size": 40})
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        assert app.state.services.db.settings.pgbouncer
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as c:
            body = {"user": {"username": "bob", "email": "bob@example.com", "password": "pw-12345"}}
            token = (await c.post("/api/users", json=body)).json()["user"]["token"]
            auth = {"Authorization": f"Token {token}"}
            article = {"article": {"title": "t", "description": "d", "body": "b", "tagList": ["x"]}}

            async def one(i: int) -> list[int]:
                created = await c.post("/api/articles", json=article, headers=auth)
                slug = created.json()["article"]["slug"]
                reads = [c.get(f"/api/articles/{slug}"), c.get("/api/articles?limit=5"),
                         c.get("/api/tags"), c.get("/api/user", headers=auth)]  # fmt: skip
                return [created.status_code] + [r.status_code for r in await asyncio.gather(*reads)]

            results = await asyncio.gather(*(one(i) for i in range(40)))
    assert all(statuses == [201, 200, 200, 200, 200] for statuses in results), results
    assert "unsupported startup parameter" in pgb.log()  # the refusal it recovered from


async def test_named_prepared_statements_break_there(bouncer: tuple[PgBouncer, str]) -> None:
    """Why the statement cache is off: the premise, shown (a control for the test above)."""
    pgb, name = bouncer
    pool = await asyncpg.create_pool(pgb.url(name), min_size=10, max_size=10)
    try:

        async def query(i: int) -> None:
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT $1::int + 0 * pg_backend_pid()", i)

        async def rounds() -> None:
            for _ in range(20):
                await asyncio.gather(*(query(i) for i in range(10)))

        with pytest.raises(asyncpg.PostgresError):
            await rounds()
    finally:
        await pool.close()
