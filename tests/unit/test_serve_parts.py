"""The parts issue 16 added around the server, without one: granian's limits from brisk's
settings, the drain flag a parent sets, the shutdown helpers, the batched access log, the
remembered ETag of a cached body and the app-level body timeout."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI, HTTPException
from starlette.types import Message

from brisk.api import http_cache
from brisk.api.drain import DRAIN_FLAG_ENV, Drain, release_worker_threads
from brisk.api.errors import install_error_handlers
from brisk.api.limits import BodySizeLimit
from brisk.cli.http_server import GRANIAN_MIN_BUFFER, granian_http1, stop_workers
from brisk.observability.context import RequestTiming
from brisk.observability.logs import AccessLog
from brisk.observability.middleware import InFlight
from brisk.settings import HttpSettings

# Hang guards only: nothing here asserts how fast anything is.
GUARD_SECONDS = 10


def _until_sigterm() -> None:
    time.sleep(GUARD_SECONDS)


def _ignoring_sigterm(ready: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    time.sleep(GUARD_SECONDS)


def _worker(target: Any, *args: Any) -> SimpleNamespace:
    """What stop_workers needs of a granian worker: its process, index and signals."""
    process = multiprocessing.get_context("fork").Process(target=target, args=args, daemon=True)
    process.start()
    return SimpleNamespace(
        inner=process, idx=0, terminate=process.terminate, kill=process.kill, join=process.join
    )


def test_a_worker_that_stopped_is_not_killed_when_another_thread_reaped_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """granian's watcher thread can reap a worker before the main thread asks `is_alive()`,
    which then reads True (ECHILD) and granian logged a kill after a clean exit; the sentinel
    says the truth. (granian 2.8.9's own `_stop_workers` logs the kill in this state.)"""
    worker = _worker(_until_sigterm)
    os.kill(worker.inner.pid, signal.SIGTERM)
    os.waitpid(worker.inner.pid, 0)  # reaped behind multiprocessing's back, as its watcher does
    assert worker.inner.is_alive()  # the state granian misread
    with caplog.at_level(logging.WARNING, logger="brisk.cli.http_server"):
        stop_workers([worker], kill_timeout=GUARD_SECONDS)
    assert not [r for r in caplog.records if "Killing" in r.getMessage()]


def test_a_worker_that_ignores_sigterm_is_killed_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ready = multiprocessing.get_context("fork").Event()
    worker = _worker(_ignoring_sigterm, ready)
    assert ready.wait(GUARD_SECONDS)
    with caplog.at_level(logging.WARNING, logger="brisk.cli.http_server"):
        stop_workers([worker], kill_timeout=0.5)
    assert worker.inner.exitcode == -signal.SIGKILL
    assert [r for r in caplog.records if "Killing worker-1" in r.getMessage()]


def test_granian_gets_brisks_head_limits() -> None:
    http1 = granian_http1(HttpSettings(max_header_bytes=16384, header_timeout_seconds=2.5))
    assert (http1.max_buffer_size, http1.header_read_timeout, http1.keep_alive) == (
        16384,
        2500,
        True,
    )
    # One timer for a late head and an idle kept-alive connection: the shorter bound.
    idle = granian_http1(HttpSettings(header_timeout_seconds=10, keep_alive_seconds=5))
    assert idle.header_read_timeout == 5000
    # hyper's floor and granian's ceiling win over settings past them.
    small = granian_http1(
        HttpSettings(max_header_bytes=2048, header_timeout_seconds=3600, keep_alive_seconds=3600)
    )
    assert (small.max_buffer_size, small.header_read_timeout) == (GRANIAN_MIN_BUFFER, 60_000)


def test_a_drain_flag_file_makes_the_process_draining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = tmp_path / "draining"
    monkeypatch.setenv(DRAIN_FLAG_ENV, str(flag))
    drain = Drain(5)
    drain.install()  # the parent owns the signal: nothing installed here
    assert not drain._installed
    assert not drain.draining
    flag.touch()
    assert drain.draining


def test_every_error_handler_runs_on_the_event_loop() -> None:
    """A plain `def` handler would run on anyio's thread pool (ADR 0003)."""
    app = FastAPI()
    install_error_handlers(app)
    assert app.exception_handlers
    assert all(inspect.iscoroutinefunction(h) for h in app.exception_handlers.values())


async def test_release_worker_threads_ends_anyios_idle_threads() -> None:
    await anyio.to_thread.run_sync(lambda: None)
    pool = [t for t in threading.enumerate() if t.name == "AnyIO worker thread"]
    assert pool
    assert release_worker_threads() >= 1
    for thread in pool:
        thread.join(GUARD_SECONDS)
        assert not thread.is_alive()


async def test_in_flight_settles_or_says_it_did_not() -> None:
    in_flight = InFlight()
    assert await in_flight.settled(GUARD_SECONDS)
    in_flight.count = 1
    assert not await in_flight.settled(0.02)

    async def finish() -> None:
        await asyncio.sleep(0.02)
        in_flight.count = 0

    task = asyncio.create_task(finish())
    assert await in_flight.settled(GUARD_SECONDS)
    await task


def _log_requests(log: AccessLog, count: int) -> None:
    scope = {"path": '/api/articles/a"b\\c\u00e9\n'}
    for n in range(count):
        log.request(
            scope, "GET", "/api/articles/{slug}", 200, 0.001, RequestTiming.of(b"id-%d" % n)
        )


async def test_the_batched_access_log_keeps_every_line_whole() -> None:
    writes: list[bytes] = []
    log = AccessLog(writes.append, flush_seconds=60, traced=False)
    log.start()
    _log_requests(log, 100)
    assert writes  # full batches went out at once
    assert all(len(write) <= select.PIPE_BUF for write in writes)
    assert all(write.endswith(b"\n") for write in writes)
    await log.stop()  # writes the rest
    lines = b"".join(writes).splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == [f"id-{n}" for n in range(100)]
    assert json.loads(lines[0])["path"] == '/api/articles/a"b\\c\u00e9\n'
    writes.clear()
    _log_requests(log, 1)  # stopped: one write per line again
    assert len(writes) == 1


async def test_the_batched_access_log_flushes_within_its_period() -> None:
    writes: list[bytes] = []
    log = AccessLog(writes.append, flush_seconds=0.01, traced=False)
    log.start()
    try:
        _log_requests(log, 1)
        assert writes == []
        async with asyncio.timeout(GUARD_SECONDS):
            while not writes:  # noqa: ASYNC110 (the flusher appends; nothing to wait on)
                await asyncio.sleep(0.01)
    finally:
        await log.stop()
    assert len(writes) == 1


def test_the_etag_of_a_cached_body_is_remembered_by_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computed: list[bytes] = []
    real = http_cache.etag

    def counting(body: bytes) -> bytes:
        computed.append(body)
        return real(body)

    monkeypatch.setattr(http_cache, "etag", counting)
    monkeypatch.setattr(http_cache, "_TAGS", {})
    body = b'{"article": 1}' * 10
    assert http_cache.cached_etag(body) == real(body)
    assert http_cache.cached_etag(bytes(bytearray(body))) == real(body)  # a new, equal object
    assert len(computed) == 1
    after_a_write = b'{"article": 2}' * 10  # what L1 holds after an invalidation
    assert http_cache.cached_etag(after_a_write) == real(after_a_write) != real(body)
    assert len(computed) == 2
    for n in range(http_cache.MAX_REMEMBERED_TAGS * 2):
        http_cache.cached_etag(b"%d" % n)
    assert len(http_cache._TAGS) <= http_cache.MAX_REMEMBERED_TAGS


async def test_a_body_that_stalls_is_408_and_closes() -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        raise AssertionError("unreachable")

    limited = BodySizeLimit(app, max_body_bytes=1024, body_timeout_seconds=0.05)
    never = asyncio.Event()

    async def stalled() -> Message:
        await never.wait()
        return {"type": "http.disconnect"}

    receive = limited._counting(stalled)
    with pytest.raises(HTTPException, match=r"did not arrive within 0\.05 s") as raised:
        async with asyncio.timeout(GUARD_SECONDS):
            await receive()
    assert raised.value.status_code == 408
    assert raised.value.headers == {"Connection": "close"}
