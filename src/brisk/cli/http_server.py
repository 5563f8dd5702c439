"""The HTTP server under `brisk serve`: granian (the default, ADR 0003) or uvicorn, each given
brisk's bounds on request heads and read times (ADR 0019) through its own options."""

from __future__ import annotations

import functools
import logging
import multiprocessing.connection
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from brisk.api.drain import DRAIN_FLAG_ENV, PARENT_ENV
from brisk.observability.logs import logging_config
from brisk.settings import HttpSettings, Settings

Server = Literal["granian", "uvicorn"]
APP = "brisk.asgi:create_from_env"
# hyper's HTTP/1 read buffer (granian's max_buffer_size) cannot be smaller than this.
GRANIAN_MIN_BUFFER = 8192
# After the shutdown grace, a worker still closing its pools gets this much more before the
# granian main process kills it (a bound, not the mechanism: the worker exits on its own).
KILL_MARGIN_SECONDS = 5

log = logging.getLogger(__name__)


def run(server: Server, settings: Settings, *, host: str, port: int, workers: int) -> None:
    if server == "uvicorn":
        _uvicorn(settings, host=host, port=port, workers=workers)
    else:
        _granian(settings, host=host, port=port, workers=workers)


def _uvicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # httptools, with brisk's bounds on header size and read times (ADR 0019).
        http=limited_protocol(settings.http),
        timeout_keep_alive=settings.http.keep_alive_seconds,
        access_log=False,  # brisk writes its own JSON line per request
        log_config=logging_config(settings.telemetry.log_level.upper()),
        log_level=settings.telemetry.log_level,
        # X-Forwarded-For is believed only from BRISK_HTTP__TRUSTED_PROXIES (create_app),
        # not from uvicorn's default of any local peer.
        proxy_headers=False,
        timeout_graceful_shutdown=settings.http.shutdown_grace_seconds,
    )


def limited_protocol(http: HttpSettings) -> Any:
    """uvicorn's `http` option: its httptools protocol with brisk's limits (picklable, for
    the worker processes)."""
    from brisk.http_limits import LimitedHttpToolsProtocol, ServerLimits

    limits = ServerLimits(
        max_header_bytes=http.max_header_bytes,
        header_timeout_seconds=http.header_timeout_seconds,
        body_timeout_seconds=http.body_timeout_seconds,
    )
    return functools.partial(LimitedHttpToolsProtocol, limits=limits)


def granian_http1(http: HttpSettings) -> Any:
    """hyper's HTTP/1 settings for brisk's limits. Its read buffer bounds the head (past it,
    hyper answers 431 and closes). Its one timer, the header read timeout, runs from a new
    connection's start and between kept-alive requests until a head is complete (then it
    closes without an answer): the shorter of the head and the keep-alive bounds, so both hold.
    """
    from granian.http import HTTP1Settings

    seconds = min(http.header_timeout_seconds, http.keep_alive_seconds)
    return HTTP1Settings(
        header_read_timeout=min(60_000, max(1, int(seconds * 1000))),
        keep_alive=True,
        max_buffer_size=max(GRANIAN_MIN_BUFFER, http.max_header_bytes),
    )


def stop_workers(workers: list[Any], kill_timeout: float) -> None:
    """granian's worker stop, judged by each worker's sentinel (closed when the process ends)
    rather than by `is_alive()`. granian's own `_stop_workers` (2.8) asks `is_alive()`, which
    reaps with `waitpid`; its watcher thread is blocked in `waitpid` on the same child, and
    when that thread reaps first, the main thread's call fails with ECHILD and the worker
    reads as alive: granian then logs "Killing worker-1 after it refused to gracefully stop"
    milliseconds after a clean exit (seen once in CI, 12 ms after "Stopping worker-1")."""
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + kill_timeout
    for worker in workers:
        left = max(deadline - time.monotonic(), 0.0)
        if not multiprocessing.connection.wait([worker.inner.sentinel], left):
            log.warning(
                "Killing worker-%d: it did not stop within %g s of SIGTERM",
                worker.idx + 1,
                kill_timeout,
            )
            worker.kill()
        worker.join()


def _granian_server() -> Any:
    """granian's server class, with `stop_workers` in place of its own where it runs worker
    processes (the build with a GIL; the free-threaded build runs threads)."""
    from granian import Granian
    from granian.server import MPServer

    if Granian is not MPServer:
        return Granian

    class Server(MPServer):
        def _stop_workers(self) -> None:
            # brisk always sets the kill timeout (_granian below).
            stop_workers(self.wrks, float(self.workers_kill_timeout or 0))

    return Server


def _granian(settings: Settings, *, host: str, port: int, workers: int) -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    http = settings.http
    server = _granian_server()(
        APP,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=granian_http1(http),
        log_dictconfig=logging_config(settings.telemetry.log_level.upper()),
        log_level=LogLevels(settings.telemetry.log_level),
        log_access=False,  # brisk writes its own JSON line per request
        workers_kill_timeout=int(http.shutdown_grace_seconds + KILL_MARGIN_SECONDS),
    )
    with tempfile.TemporaryDirectory(prefix="brisk-drain-") as folder:
        flag = Path(folder) / "draining"
        # The workers (forked after this) read it: readiness is 503 while it exists.
        os.environ[DRAIN_FLAG_ENV] = str(flag)
        os.environ[PARENT_ENV] = str(os.getpid())  # they stop if this process dies
        if http.drain_seconds > 0:
            server.on_startup(functools.partial(_defer_sigterm, flag, http.drain_seconds))
        try:
            server.serve()
        finally:
            os.environ.pop(DRAIN_FLAG_ENV, None)
            os.environ.pop(PARENT_ENV, None)


def _defer_sigterm(flag: Path, seconds: float) -> None:
    """In granian's main process, after it set its signal handlers: the first SIGTERM marks
    the workers as draining (the flag file) and stops them `seconds` later; a second SIGTERM,
    or SIGINT, stops at once (as api/drain.py does in a single uvicorn process)."""
    stop = signal.getsignal(signal.SIGTERM)
    if not callable(stop):
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if flag.exists():
            stop(signum, frame)
            return
        flag.touch()
        log.info("SIGTERM: readiness is 503 now; shutting down in %g s", seconds)
        timer = threading.Timer(seconds, stop, (signum, None))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)
