"""Shared fixtures: real PostgreSQL/Redis (the machine's, or embedded ones), a fresh database
per session, tables emptied before each test, and an in-process app client."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.db.migrations import migrate
from brisk.services import Services
from brisk.settings import CacheSettings, Settings

TEST_SECRET = "test-secret-" + "x" * 40
TABLES = (
    "notifications",
    "comments",
    "favorites",
    "favorite_tags",
    "article_tags",
    "tags",
    "articles",
    "follows",
    "users",
)


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(admin database URL, redis URL): BRISK_TEST_* when set, else embedded servers."""
    db_url = os.environ.get("BRISK_TEST_DATABASE_URL")
    redis_url = os.environ.get("BRISK_TEST_REDIS_URL")
    if db_url and redis_url:
        yield db_url, redis_url
        return
    from brisk.embedded import EmbeddedServices

    # Not pytest's tmp_path: pytest makes its base folder 0700 at every session start, which
    # would cut off the system user the embedded PostgreSQL runs as when we are root.
    data_dir = Path(tempfile.mkdtemp(prefix="brisk-test-embedded-"))
    try:
        with EmbeddedServices(data_dir) as urls:
            yield db_url or urls.database_url, redis_url or urls.redis_url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_empty_database(admin_url: str, prefix: str) -> str:
    """A new database with no schema yet; its name is unique so parallel CI runs never collide."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def create_scratch_database(admin_url: str, prefix: str) -> str:
    """A new, migrated database (see create_empty_database)."""
    url = await create_empty_database(admin_url, prefix)
    await migrate(url)
    return url


async def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(servers: tuple[str, str]) -> AsyncIterator[str]:
    admin_url = servers[0]
    url = await create_scratch_database(admin_url, "brisk_test")
    yield url
    await drop_database(admin_url, url)


# Cache keys of this test session: several sessions (and checkouts) share one Redis database.
CACHE_NAMESPACE = f"brisk-test-{secrets.token_hex(4)}"


def make_settings(database_url: str, redis_url: str | None, **overrides: Any) -> Settings:
    # The suite registers and logs in hundreds of times from one address: login and register
    # limits are off unless a test turns them on (tests/integration/test_abuse_limits.py).
    overrides.setdefault("limits", {"enabled": False})
    overrides.setdefault("cache", CacheSettings(namespace=CACHE_NAMESPACE))
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        **overrides,
    )


@pytest.fixture(scope="session")
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return make_settings(database_url, servers[1])


# The session's app: a TRUNCATE waits for its background refills (Cache.refill) to be done, or
# a refill's query, locking the tables in another order, deadlocks with it.
_LIVE: list[Services] = []


@pytest.fixture(scope="session")
async def app_and_services(settings: Settings) -> AsyncIterator[tuple[Any, Services]]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        _LIVE.append(app.state.services)
        yield manager.app, app.state.services
        _LIVE.remove(app.state.services)


@pytest.fixture(scope="session")
def services(app_and_services: tuple[Any, Services]) -> Services:
    return app_and_services[1]


@pytest.fixture
def no_cache(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read goes to PostgreSQL, for tests about what the database does."""
    monkeypatch.setattr(services.cache, "enabled", False)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for checking what the API really stored."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    if "database_url" not in request.fixturenames:
        return
    url = request.getfixturevalue("database_url")
    for services in _LIVE:
        await services.cache.settle()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        await conn.execute("UPDATE counters SET value = 0")
    finally:
        await conn.close()
    # TRUNCATE bypasses the write paths, so nothing was invalidated: start the cache empty.
    if "app_and_services" in request.fixturenames:
        await request.getfixturevalue("app_and_services")[1].cache.clear()


@pytest.fixture
async def client(app_and_services: tuple[Any, Services]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_and_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://brisk.test") as c:
        yield c


REPO_ROOT = Path(__file__).resolve().parents[1]
