"""A live `brisk serve --workers 2`: metrics summed over both workers, one JSON line per
request on stderr, and the /_perf page as Chromium renders it."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from PIL import Image, ImageStat
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CACHE_NAMESPACE
from tests.integration.live import Served, serve, wait_ready

pytestmark = pytest.mark.integration

BATCH = 40
MAX_BATCHES = 10
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass
class Live:
    served: Served
    metrics_dir: Path

    @property
    def base(self) -> str:
        return self.served.base


@pytest.fixture(scope="module")
async def live(
    database_url: str, servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    folder = tmp_path_factory.mktemp("telemetry-live")
    metrics_dir = folder / "metrics"
    env = {
        "BRISK_TELEMETRY__PERF_PAGE": "true",
        "BRISK_CACHE__NAMESPACE": CACHE_NAMESPACE,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    served = serve(database_url, servers[1], folder / "serve.log", "--workers", "2", env=env)
    try:
        await wait_ready(served)
        yield Live(served, metrics_dir)
    finally:
        served.stop()


TAGS = {
    "http_request_method": "GET",
    "http_route": "/api/tags",
    "http_response_status_code": "200",
}
COUNT = "http_server_request_duration_seconds_count"


def _scraped(exposition: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == COUNT and sample.labels == TAGS:
                return sample.value
    return 0.0


def _per_worker(metrics_dir: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count of GET /api/tags, read from its file alone."""
    counts = {}
    for path in metrics_dir.glob("histogram_*.db"):
        alone = scratch / path.stem
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[path.stem] = registry.get_sample_value(COUNT, TAGS) or 0.0
    return counts


async def _get_many(url: str, n: int) -> None:
    # New connections, all at once, so the kernel hands them to both workers' accept loops.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(n)))
    assert all(r.status_code == 200 for r in responses)


async def test_metrics_add_up_over_every_worker(live: Live, tmp_path: Path) -> None:
    # Both workers are up once each has made its metric files (bounded wait).
    deadline = time.monotonic() + 60
    while len(list(live.metrics_dir.glob("histogram_*.db"))) < 2:
        assert time.monotonic() < deadline, "the second worker did not start"
        await asyncio.sleep(0.2)
    sent = 0
    for _ in range(MAX_BATCHES):
        await _get_many(f"{live.base}/api/tags", BATCH)
        sent += BATCH
        # Each worker moves its counts to its file every sampler tick (0.5 s).
        await asyncio.sleep(1.2)
        per_worker = _per_worker(live.metrics_dir, tmp_path)
        if all(per_worker.values()):
            break
    assert len(per_worker) == 2
    assert all(per_worker.values()), f"both workers should have served: {per_worker}"
    assert sum(per_worker.values()) == sent
    for _ in range(4):  # whichever worker answers the scrape, it reports both
        async with httpx.AsyncClient() as client:
            exposition = (await client.get(f"{live.base}/metrics")).text
        assert _scraped(exposition) == sent


async def test_one_json_line_per_request_on_stderr(live: Live) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{live.base}/api/tags", headers={"X-Request-ID": "live-42"})
    assert response.headers["x-request-id"] == "live-42"
    assert "server-timing" in response.headers
    # The access line is written once the response has gone: on a loaded machine it can land
    # after the client has read the answer, so wait for it (bounded) rather than read once.
    mine: list[dict[str, object]] = []
    for _ in range(50):
        entries = [
            orjson.loads(raw)  # every line is whole JSON, workers never interleave
            for raw in live.served.log.read_bytes().splitlines()
            if raw.startswith(b"{")
        ]
        mine = [e for e in entries if e.get("request_id") == "live-42"]
        if mine:
            break
        await asyncio.sleep(0.1)
    assert len(mine) == 1
    assert mine[0]["route"] == "/api/tags"
    assert mine[0]["status"] == 200


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it with apt")
    pytest.skip("chromium not installed (apt-get install chromium); CI always runs this")


async def test_perf_page_renders_charts_in_chromium(live: Live, tmp_path: Path) -> None:
    chromium = _chromium()
    async with httpx.AsyncClient() as client:
        for path in ("/api/tags", "/api/articles", "/health/live") * 40:
            await client.get(f"{live.base}{path}")
        page = await client.get(f"{live.base}/_perf")
        data = (await client.get(f"{live.base}/_perf/data")).json()
    assert page.status_code == 200
    assert "<canvas" in page.text
    assert {"series", "routes"} <= set(data)
    shot = tmp_path / "perf.png"
    result = subprocess.run(  # noqa: ASYNC221 - the page needs only the server, not this loop
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,900",
            "--virtual-time-budget=3000",
            f"--screenshot={shot}",
            f"{live.base}/_perf",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 20_000, len(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1280, 900)
    # Not blank: many colours (lines in four series colours, text), real spread of values.
    assert len(image.getcolors(maxcolors=1_000_000) or []) > 50
    assert max(ImageStat.Stat(image).stddev) > 10
    keep = os.environ.get("BRISK_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
