"""The official RealWorld Postman suite (newman) against a live `brisk serve` process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    CACHE_NAMESPACE,
    REPO_ROOT,
    TEST_SECRET,
    create_scratch_database,
    drop_database,
)

pytestmark = pytest.mark.integration

COLLECTION = REPO_ROOT.parent / "shared" / "realworld" / "Conduit.postman_collection.json"
LOCAL_NEWMAN = REPO_ROOT / ".tools" / "node" / "node_modules" / ".bin" / "newman"
EXPECTED_ASSERTIONS = 311


def _newman() -> str:
    found = shutil.which("newman") or (str(LOCAL_NEWMAN) if LOCAL_NEWMAN.exists() else None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("newman is not installed; .ci/run installs it with npm")
    pytest.skip("newman not installed (needs Node.js: `make newman`); CI always runs it")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
async def live_server(
    servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    admin_url, redis_url = servers
    database_url = await create_scratch_database(admin_url, "brisk_conformance")
    port = _free_port()
    env = {
        **os.environ,
        "BRISK_DATABASE_URL": database_url,
        "BRISK_REDIS_URL": redis_url,
        "BRISK_SECRET_KEY": TEST_SECRET,
        "BRISK_CACHE__NAMESPACE": f"{CACHE_NAMESPACE}-conformance",
    }
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    # Popen returns at once (the server runs alongside the tests), so nothing blocks the loop.
    process = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "brisk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base, process)
        yield f"{base}/api"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        await drop_database(admin_url, database_url)


async def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "brisk serve exited during startup"
            try:
                if (await client.get(f"{base}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    pytest.fail("brisk serve did not become ready within 60 s")


def test_official_suite_passes(live_server: str, tmp_path: Path) -> None:
    user = "u" + uuid.uuid4().hex[:12]
    report = tmp_path / "newman.json"
    result = subprocess.run(
        [
            _newman(),
            "run",
            str(COLLECTION),
            "--global-var",
            f"APIURL={live_server}",
            "--global-var",
            f"USERNAME={user}",
            "--global-var",
            f"EMAIL={user}@mail.com",
            "--global-var",
            "PASSWORD=password",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    stats = json.loads(report.read_text())["run"]["stats"]
    assert stats["assertions"] == {"total": EXPECTED_ASSERTIONS, "pending": 0, "failed": 0}
    assert stats["requests"]["failed"] == 0
