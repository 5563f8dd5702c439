"""The naive "before" app: it answers the whole mix, and however many reads it fans out, it
never holds more PostgreSQL connections than its cap (the server is shared)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from brisk.lab.profiles import BRISK_APP, NAIVE_APP
from brisk.lab.runner import Server, drive
from brisk.lab.seed import Scale, seed_database
from brisk.lab.workload import build_requests, sample_service, write_requests
from tests.conftest import create_scratch_database, drop_database

pytestmark = pytest.mark.integration
SMALL = Scale(users=60, articles=400, follows_per_user=6, favorites_per_article=3,
              comments_per_article=2, tags=20, past_follows_per_user=2)  # fmt: skip
CAP = 3
# Connections to the current database but the asking one's.
_OTHERS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture(scope="module")
async def seeded_url(servers: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_scratch_database(servers[0], "brisk_naive")
    await seed_database(url, SMALL, seed=3)
    yield url
    await drop_database(servers[0], url)


@pytest.fixture(scope="module")
def env_and_requests(
    seeded_url: str, servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path]:
    env = {"BRISK_SECRET_KEY": secrets.token_urlsafe(48), "BRISK_REDIS_URL": servers[1],
           "BRISK_CACHE__NAMESPACE": f"naive{secrets.token_hex(3)}",
           "BRISK_DATABASE_URL": seeded_url}  # fmt: skip
    with Server(BRISK_APP, env) as brisk:
        requests = build_requests(sample_service(brisk.url), count=400)
    # A stopped server's backends can outlive it for a moment in pg_stat_activity, where a
    # test's sampler would count them against the naive app's cap (seen: 4 of 3); each test
    # waits for them to be gone.
    path = tmp_path_factory.mktemp("naive") / "requests.tsv"
    write_requests(requests, path)
    return env, path


async def _until_no_connections(url: str, seconds: float = 10.0) -> None:
    conn = await asyncpg.connect(url)
    try:
        for _ in range(int(seconds / 0.05)):
            others = await conn.fetchval(_OTHERS)
            if others == 0:
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"connections to {url} still open after {seconds} s")


class _Peak:
    """Samples the connections open to one database from another thread, every 20 ms."""

    def __init__(self, url: str) -> None:
        self.url, self.peak, self._stop = url, 0, threading.Event()

    def _run(self) -> None:
        async def sample() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                while not self._stop.is_set():
                    count = await conn.fetchval(_OTHERS)
                    self.peak = max(self.peak, count)
                    await asyncio.sleep(0.02)
            finally:
                await conn.close()

        asyncio.run(sample())

    def __enter__(self) -> _Peak:
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def need_wrk() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")


@pytest.mark.usefixtures("need_wrk")
@pytest.mark.parametrize(
    "techniques", [{}, {"BRISK_LAB_CONCURRENT": "1"}, {"BRISK_LAB_QUERIES": "1"}]
)
def test_naive_app_answers_the_mix_within_its_connection_cap(
    env_and_requests: tuple[dict[str, str], Path], techniques: dict[str, str]
) -> None:
    env, path = env_and_requests
    naive_env = env | techniques | {"BRISK_LAB_MAX_CONNECTIONS": str(CAP)}
    # Nothing left over from the last server (the fixture's, or the previous case's naive one).
    asyncio.run(_until_no_connections(env["BRISK_DATABASE_URL"]))
    with Server(NAIVE_APP, naive_env) as naive, _Peak(env["BRISK_DATABASE_URL"]) as peak:
        result = drive(naive.url, path, 2, connections=8)
    assert result.requests > 0
    assert result.errors == 0
    assert 0 < peak.peak <= CAP
