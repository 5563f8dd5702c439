"""Structured logs: one JSON object per line, for brisk's records and one per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from starlette.types import Scope

from brisk.observability.context import RequestTiming, current_request_id
from brisk.observability.tracing import current_trace_ids

# LogRecord's own attributes; anything else on a record came from `extra=` and is logged.
# uvicorn's `color_message` is its message again with ANSI colour codes: noise in JSON.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
MAX_PATH_CHARS = 256
# An access line without trace ids: AccessLog.request fills it. `sample_every`: how many
# requests the line stands for (1 but for the fast path's sampled answers, ADR 0026).
_LINE = (
    b'{"ts":"%s","level":"info","logger":"brisk.access","msg":"request","request_id":"%s",'
    b'"method":"%s","route":%s,"path":%s,"status":%d,"duration_us":%d,"db_us":%d,'
    b'"db_queries":%d,"cache_us":%d,"cache_calls":%d,"sample_every":%d}\n'
)


class _IsoClock:
    """ISO 8601 UTC with microseconds (`2026-12-03T19:14:18.123456Z`), the form log shippers
    parse without configuration. The part up to the second is formatted once per second: the
    access log writes one per request, and strftime each time would cost ~2 us."""

    def __init__(self) -> None:
        # One tuple, swapped whole: a thread never pairs one second with another's prefix.
        self._cached = (-1, "")

    def __call__(self, timestamp: float) -> str:
        second = int(timestamp)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached = (second, prefix)
        micros = min(999_999, int((timestamp - second) * 1e6 + 0.5))
        return f"{prefix}.{micros:06d}Z"


iso_utc = _IsoClock()


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", "request_id"?, ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": iso_utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        _add_trace_ids(entry)
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for brisk and its server alike (handed to uvicorn or granian)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "_granian")
        },
    }


def _add_trace_ids(entry: dict[str, Any]) -> None:
    """`trace_id` / `span_id` of the current span, when tracing is on (OpenTelemetry's log
    correlation names), so a log line leads to its trace."""
    ids = current_trace_ids()
    if ids is not None:
        entry["trace_id"], entry["span_id"] = ids


class AccessLog:
    """One JSON line per request, written with os.write, in batches when `flush_seconds` > 0.

    Not the logging module: a record through it costs ~10 us, a fifth of the whole budget of a
    cached request. On the fast path the write(2) itself was the largest single cost (py-spy,
    docs/BENCHMARKS.md), so lines are gathered and written together: a write as soon as the
    next line would pass PIPE_BUF, else within `flush_seconds` (a background task), and at
    stop. A write under PIPE_BUF is atomic, so workers sharing a pipe never interleave their
    lines. What a hard crash loses: the lines of its last `flush_seconds`.
    """

    def __init__(
        self,
        write: Callable[[bytes], object] | None = None,
        *,
        flush_seconds: float = 0.0,
        traced: bool = True,
    ) -> None:
        self._write = write if write is not None else partial(os.write, 2)
        self.flush_seconds = flush_seconds
        # Without brisk's tracing no line has a span: skip the lookup (FastAPI loads
        # OpenTelemetry's API anyway, so the module alone does not say).
        self._traced = traced
        self._routes: dict[str, bytes] = {}  # route template -> its JSON string
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._batching = False
        self._flusher: asyncio.Task[None] | None = None

    def request(
        self,
        scope: Scope,
        method: str,
        route: str,
        status: int,
        seconds: float,
        timing: RequestTiming,
        sample_every: int = 1,
    ) -> None:
        # Whole microseconds: int() is ~20x cheaper than round() on this path.
        if self._traced and (ids := current_trace_ids()) is not None:
            line = self._traced_line(
                scope, method, route, status, seconds, timing, ids, sample_every
            )
        else:
            # The same object as the traced line without the ids, formatted from a template
            # (half the time of a dict and orjson.dumps). The path a client chose and the route
            # go through orjson, which escapes them; the request id is well formed (RequestIds:
            # no character to escape), the method one of METHODS or "_OTHER", the timestamp
            # digits.
            route_json = self._routes.get(route)
            if route_json is None:
                route_json = self._routes[route] = orjson.dumps(route)
            line = _LINE % (
                iso_utc(time.time()).encode(),
                timing.request_id,
                method.encode(),
                route_json,
                orjson.dumps(scope["path"][:MAX_PATH_CHARS]),
                status,
                int(seconds * 1e6),
                int(timing.db_seconds * 1e6),
                timing.db_queries,
                int(timing.cache_seconds * 1e6),
                timing.cache_calls,
                sample_every,
            )
        if not self._batching:
            self._write(line)
            return
        if self._pending_bytes + len(line) > select.PIPE_BUF:
            self.flush()
        self._pending.append(line)
        self._pending_bytes += len(line)

    @staticmethod
    def _traced_line(
        scope: Scope,
        method: str,
        route: str,
        status: int,
        seconds: float,
        timing: RequestTiming,
        ids: tuple[str, str],
        sample_every: int,
    ) -> bytes:
        entry = {
            "ts": iso_utc(time.time()),
            "level": "info",
            "logger": "brisk.access",
            "msg": "request",
            "request_id": timing.request_id.decode(),
            "method": method,
            "route": route,
            "path": scope["path"][:MAX_PATH_CHARS],
            "status": status,
            "duration_us": int(seconds * 1e6),
            "db_us": int(timing.db_seconds * 1e6),
            "db_queries": timing.db_queries,
            "cache_us": int(timing.cache_seconds * 1e6),
            "cache_calls": timing.cache_calls,
            "sample_every": sample_every,
            "trace_id": ids[0],
            "span_id": ids[1],
        }
        return orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)

    def flush(self) -> None:
        if self._pending:
            lines, self._pending, self._pending_bytes = self._pending, [], 0
            self._write(b"".join(lines))

    def start(self) -> None:
        """Batch from now on (call on the event loop: the flusher is a task on it)."""
        if self.flush_seconds > 0 and self._flusher is None:
            self._batching = True
            self._flusher = asyncio.get_running_loop().create_task(self._flush_every())

    async def stop(self) -> None:
        """Write what is pending; one line per write from now on."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        self._batching = False
        self.flush()

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            self.flush()
