"""The official RealWorld Postman suite (newman) against a live `brisk serve` process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import CACHE_NAMESPACE, REPO_ROOT, create_scratch_database, drop_database
from tests.integration.live import serve, wait_ready

pytestmark = pytest.mark.integration

# The official suite is not vendored: BRISK_REALWORLD_DIR names a checkout of the RealWorld
# repository's api/ folder (the one holding Conduit.postman_collection.json); .ci/run sets it.
SUITE_DIR_VARIABLE = "BRISK_REALWORLD_DIR"
COLLECTION_NAME = "Conduit.postman_collection.json"
LOCAL_NEWMAN = REPO_ROOT / ".tools" / "node" / "node_modules" / ".bin" / "newman"
EXPECTED_ASSERTIONS = 311


def _collection() -> Path:
    location = os.environ.get(SUITE_DIR_VARIABLE)
    if not location:
        pytest.skip(
            f"{SUITE_DIR_VARIABLE} is not set: point it at a folder holding {COLLECTION_NAME} "
            "(the api/ folder of https://github.com/gothinkster/realworld) to run the "
            "official suite"
        )
    collection = Path(location) / COLLECTION_NAME
    if not collection.is_file():  # set but wrong is a mistake to report, not to skip
        pytest.fail(f"{SUITE_DIR_VARIABLE}={location}: no {COLLECTION_NAME} there")
    return collection


def _newman() -> str:
    found = shutil.which("newman") or (str(LOCAL_NEWMAN) if LOCAL_NEWMAN.exists() else None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("newman is not installed; .ci/run installs it with npm")
    pytest.skip("newman not installed (needs Node.js: `make newman`); CI always runs it")


@pytest.fixture(scope="module")
async def live_server(
    servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    admin_url, redis_url = servers
    database_url = await create_scratch_database(admin_url, "brisk_conformance")
    env = {"BRISK_CACHE__NAMESPACE": f"{CACHE_NAMESPACE}-conformance"}
    served = serve(database_url, redis_url, tmp_path_factory.mktemp("serve") / "serve.log", env=env)
    try:
        await wait_ready(served)
        yield served.api
    finally:
        served.stop()
        await drop_database(admin_url, database_url)


@pytest.fixture(scope="module")
def collection() -> Path:
    """Resolved before the live server starts, so a skip costs nothing."""
    return _collection()


def test_official_suite_passes(collection: Path, live_server: str, tmp_path: Path) -> None:
    run_official_suite(live_server, tmp_path, collection)


def run_official_suite(api_url: str, tmp_path: Path, collection: Path | None = None) -> None:
    """Run the Postman collection with newman against `api_url`; every assertion must pass."""
    user = "u" + uuid.uuid4().hex[:12]
    report = tmp_path / "newman.json"
    collection = collection or _collection()
    result = subprocess.run(
        [
            _newman(),
            "run",
            str(collection),
            "--global-var",
            f"APIURL={api_url}",
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
