"""The lab's load generators against real servers on loopback: the open model counts latency
from each request's due time, so a stall shows in every request queued behind it."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brisk.lab.runner import Server, drive, free_port
from brisk.lab.trivial import RESPONSE
from brisk.lab.workload import Request, write_requests

pytestmark = pytest.mark.integration
STALL_SECONDS = 0.4


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """Answers at once, except the 50th request, which it holds for STALL_SECONDS (as a GC
    pause or a lock would), holding up the whole process as such stalls do."""
    port = free_port()
    loop = asyncio.new_event_loop()
    seen = [0]
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                seen[0] += 1
                if seen[0] == 50:
                    time.sleep(STALL_SECONDS)  # noqa: ASYNC251 - the stall is the point
                writer.write(RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", port)

    server = loop.run_until_complete(serve())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        async def shutdown() -> None:
            server.close()
            for writer in writers:
                writer.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _requests(tmp_path: Path) -> Path:
    path = tmp_path / "r.tsv"
    write_requests([Request("trivial", "GET", "/")], path)
    return path


def test_open_model_counts_the_queue_behind_a_stall(stalling_server: str, tmp_path: Path) -> None:
    result = drive(stalling_server, _requests(tmp_path), 2.0, rate=200, connections=1)
    assert result.errors == 0
    assert result.requests == 400
    # ~80 requests fell due during the stall; each waited part of it. A generator that timed
    # from the send would show one slow request; this one shows the queue.
    assert result.p50_ms < 50
    assert result.p95_ms >= STALL_SECONDS * 1e3 / 4
    assert result.max_ms >= STALL_SECONDS * 1e3 * 0.9


def test_wrk_and_open_model_against_the_trivial_server(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")
    path = _requests(tmp_path)
    with Server("brisk.lab.trivial", {}, module=True, ready_path="/") as server:
        closed = drive(server.url, path, 1, connections=8)
        opened = drive(server.url, path, 1, rate=500, connections=8)
    assert closed.model == "closed"
    assert closed.requests > 0
    assert closed.errors == 0
    assert opened.requests == 500
    assert opened.errors == 0
    assert opened.p50_ms <= opened.p99_ms <= opened.max_ms
