"""`brisk serve` on granian, its default server, stops cleanly under load, 20 times in a row
(ADR 0003): each SIGTERM arrives while clients are mid-request, and each stop ends with status
0, on its own (granian's kill timeout never fires), with no traceback in the log. Every other
stop signals the whole process group, as systemd's default `KillMode=control-group` and Ctrl-C
do (the workers then get SIGTERM from both sides).

What this guards: granian closed the lifespan (and the pools) under requests still running
("pool is closing"), and a worker hung at exit joining an idle anyio thread that an error
answer had started (4 of 17 stops in ADR 0003's measurements)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import httpx
import pytest

from tests.integration.live import serve, wait_ready
from tests.integration.load import Request, run_load

pytestmark = pytest.mark.integration

STOPS = 20
# A hang guard, not a speed check: the grace period is 3 s, granian's kill timeout 3 + 5 s.
EXIT_GUARD_SECONDS = 30
ENV = {"BRISK_HTTP__SHUTDOWN_GRACE_SECONDS": "3"}
FAILURE_MARKS = ("Traceback", "pool is closing", "refused to gracefully stop", "Killing worker")


def _mix(rng: random.Random) -> Request:
    """Routed reads through the pool, error answers (which once ran on a thread), fast-path
    hits."""
    path = rng.choice(
        ["/api/articles?limit=20", "/api/tags", "/api/articles/no-such-article", "/api/profiles/x"]
    )

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path)

    return path, send


async def _stop_under_load(
    database_url: str, redis_url: str, log: Path, *, whole_group: bool
) -> tuple[int, int, str]:
    """(exit status, answers during the load, the server's log) of one stop."""
    served = serve(database_url, redis_url, log, env=ENV, new_session=whole_group)
    try:
        await wait_ready(served)
        stop = asyncio.Event()
        load = asyncio.create_task(
            run_load(served.base, _mix, clients=16, stop=stop, max_requests=4000, pause=0.002)
        )
        await asyncio.sleep(0.7)  # requests in flight on every connection
        if whole_group:
            os.killpg(served.process.pid, signal.SIGTERM)
        else:
            served.process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.to_thread(served.process.wait, EXIT_GUARD_SECONDS)
        finally:
            stop.set()
            outcomes = await load
    finally:
        served.stop()
    answered = sum(1 for o in outcomes if o.status is not None and o.status < 500)
    return status, answered, served.output()


async def test_granian_stops_cleanly_under_load_20_times(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    for attempt in range(1, STOPS + 1):
        status, answered, output = await _stop_under_load(
            database_url,
            servers[1],
            tmp_path / f"serve-{attempt}.log",
            whole_group=attempt % 2 == 0,
        )
        assert "(1 worker(s), granian)" in output, output[-2000:]
        assert answered > 0, f"stop {attempt}: the load got no answer before the stop"
        assert status == 0, f"stop {attempt}: exit status {status}\n{output[-3000:]}"
        marks = [mark for mark in FAILURE_MARKS if mark in output]
        assert not marks, f"stop {attempt}: {marks} in the log\n{output[-3000:]}"


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_worker_stops_when_its_main_process_is_killed(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    """SIGKILL of granian's main process used to leave its worker re-parented and serving on
    the shared socket; it now gets SIGTERM from the kernel (PR_SET_PDEATHSIG) and stops."""
    served = serve(database_url, servers[1], tmp_path / "serve.log")
    worker = None
    try:
        await wait_ready(served)
        (worker,) = _children(served.process.pid)
        served.process.kill()
        served.process.wait(timeout=EXIT_GUARD_SECONDS)
        async with asyncio.timeout(EXIT_GUARD_SECONDS):  # a hang guard
            while _alive(worker):  # noqa: ASYNC110 (another process: nothing to await)
                await asyncio.sleep(0.1)
    finally:
        if worker is not None and _alive(worker):  # never leave an orphan behind
            os.kill(worker, signal.SIGKILL)
        served.stop()
