"""The embedded PostgreSQL and Valkey servers start, serve, stop and outlive no owner; the
commands with no URLs (`brisk seed`, `brisk doctor`) find those a running `brisk serve` started."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

from brisk.embedded import EmbeddedServices, EmbeddedUrls

pytestmark = pytest.mark.integration

# Started as a separate process so that it can be SIGKILLed, which skips every cleanup hook.
OWNER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from brisk.embedded import EmbeddedServices

    EmbeddedServices(Path(os.environ["EMBEDDED_TEST_DIR"])).start()
    print("ready", flush=True)
    time.sleep(300)
    """
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not tmp_path: each pytest session resets /tmp/pytest-of-<user> to 0700 as it starts, so a
    # session running alongside would lock the postgres system user out mid-test (as root).
    path = Path(tempfile.mkdtemp(prefix="brisk-embedded-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def server_pids(data_dir: Path) -> set[int]:
    """The live servers: processes whose command line names something inside data_dir."""
    found: dict[int, int] = {}
    for proc in psutil.process_iter(["cmdline", "status", "ppid"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue  # dead already, merely not reaped yet by its parent
        if any(str(data_dir) in arg for arg in proc.info["cmdline"] or ()):
            found[proc.pid] = proc.info["ppid"]
    # A postgres child shows the postmaster's command line until it sets its own title.
    return {pid for pid, ppid in found.items() if ppid not in found}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def select_one(url: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("select 1")
    finally:
        await conn.close()


def set_get(url: str) -> object:
    client = redis.Redis.from_url(url)
    try:
        client.set("embedded-test", "value")
        return client.get("embedded-test")
    finally:
        client.close()


def assert_serving(urls: EmbeddedUrls) -> None:
    assert asyncio.run(select_one(urls.database_url)) == 1
    assert set_get(urls.redis_url) == b"value"


def test_serves_postgres_and_redis_and_stop_ends_both(data_dir: Path) -> None:
    services = EmbeddedServices(data_dir)
    with services as urls:
        assert services.start() == urls  # idempotent
        assert urls.database_url.startswith("postgresql://postgres@127.0.0.1:")
        assert urls.redis_url.startswith("redis://127.0.0.1:")
        assert_serving(urls)
        pids = server_pids(data_dir)
        assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)
    assert not server_pids(data_dir)
    services.stop()  # idempotent


def test_second_instance_reuses_servers_of_a_live_owner(data_dir: Path) -> None:
    with EmbeddedServices(data_dir) as urls:
        pids = server_pids(data_dir)
        guest = EmbeddedServices(data_dir)
        assert guest.start() == urls
        guest.stop()
        assert server_pids(data_dir) == pids  # the guest stopped nothing it did not start
        assert_serving(urls)
    assert not server_pids(data_dir)


def test_servers_orphaned_by_a_killed_owner_are_reaped(data_dir: Path) -> None:
    env = {**os.environ, "EMBEDDED_TEST_DIR": str(data_dir)}
    with subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT], env=env, stdout=subprocess.PIPE, text=True
    ) as owner:
        try:
            assert owner.stdout is not None
            assert owner.stdout.readline().strip() == "ready"
        finally:
            owner.kill()
    orphans = server_pids(data_dir)
    assert len(orphans) == 2  # SIGKILL left both servers running

    with EmbeddedServices(data_dir) as urls:
        assert not any(alive(pid) for pid in orphans)
        fresh = server_pids(data_dir)
        assert len(fresh) == 2
        assert not fresh & orphans
        assert_serving(urls)
    assert not server_pids(data_dir)


def brisk(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `brisk` command as a newcomer runs it: no BRISK_* URL in the environment, no .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRISK_")}
    env["BRISK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "brisk.cli", *args],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_seed_and_doctor_use_the_servers_make_run_started(data_dir: Path) -> None:
    with EmbeddedServices(data_dir) as urls:  # what `make run` holds while it serves
        pids = server_pids(data_dir)
        port = urls.database_url.rsplit(":", 1)[1].split("/")[0]

        seeded = brisk(data_dir, "seed", "--scale", "XS", "--seed", "3")
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        assert f"127.0.0.1:{port}/brisk (embedded" in seeded.stderr

        doctor = brisk(data_dir, "doctor", "--json", "--min-rows", "1000")
        assert doctor.returncode in (0, 1), doctor.stderr[-3000:]  # 1: it found something
        assert f"127.0.0.1:{port}/brisk (embedded" in doctor.stderr
        report = json.loads(doctor.stdout)
        assert report["database"] == f"postgresql://postgres@127.0.0.1:{port}/brisk"
        assert report["queries"], "the seeded data gave the doctor queries to explain"

        assert server_pids(data_dir) == pids  # the commands stopped nothing they did not start
        assert_serving(urls)
