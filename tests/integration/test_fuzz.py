"""schemathesis against brisk's own /openapi.json on a live server, every default check on:
no server error, no undocumented status, no response outside its schema, schema-valid input
accepted and schema-invalid input refused. Bounded: BRISK_FUZZ_EXAMPLES per operation
(default 25), seeded (BRISK_FUZZ_SEED, default 1) so a CI failure replays exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CACHE_NAMESPACE, create_scratch_database, drop_database
from tests.integration.live import Served, serve, wait_ready

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
async def server(servers: tuple[str, str], tmp_path: Path) -> AsyncIterator[Served]:
    admin_url, redis_url = servers
    database_url = await create_scratch_database(admin_url, "brisk_fuzz")
    env = {
        # Login and register limits have their own tests; here they would only cut coverage.
        "BRISK_LIMITS__ENABLED": "false",
        "BRISK_CACHE__NAMESPACE": f"{CACHE_NAMESPACE}-fuzz",
    }
    served = serve(database_url, redis_url, tmp_path / "serve.log", env=env)
    try:
        await wait_ready(served)
        yield served
    finally:
        served.stop()
        await drop_database(admin_url, database_url)


async def test_openapi_fuzzing_finds_nothing(server: Served, tmp_path: Path) -> None:
    body = {"user": {"username": "fuzzer", "email": "fuzzer@x.io", "password": "password123"}}
    async with httpx.AsyncClient() as client:
        registered = await client.post(f"{server.api}/users", json=body)
    token = registered.json()["user"]["token"]
    examples = os.environ.get("BRISK_FUZZ_EXAMPLES", "25")
    seed = os.environ.get("BRISK_FUZZ_SEED", "1")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.base}/openapi.json",
        "--header",
        f"Authorization: Token {token}",
        "--max-examples",
        examples,
        "--seed",
        seed,
        "--no-color",
    ]
    # Its own process (it runs its own event loop); the server answers meanwhile.
    result = subprocess.run(  # noqa: ASYNC221
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert " passed" in output.splitlines()[-1] or "passed" in output[-2000:], output[-3000:]
    assert "Traceback" not in server.output(), server.output()[-5000:]
