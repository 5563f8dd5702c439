"""The telemetry middleware (pure ASGI): request id, Server-Timing, request metrics, access log.

It runs on every request (but the answers the cache's fast path counts itself, FastAnswers,
ADR 0028), so it does little: two clock reads, a contextvar, one histogram observation through
a cached child, two response headers and (if on) one log line. `Answers` is what both count
and log a request with.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brisk.observability.context import RequestTiming, current_timing
from brisk.observability.metrics import BufferedHistogram, Metrics

if TYPE_CHECKING:
    from brisk.observability.logs import AccessLog
    from brisk.observability.perf import PerfRecorder
    from brisk.observability.tracing import Tracing

# The label for requests no route matched (404s of random paths): never the raw path.
UNMATCHED = "unmatched"
# A layer that answers before routing (the cache's fast path) names its route template here.
ROUTE_KEY = "brisk.route"
# When the fast path (outermost, ADR 0028) began on a request it then handed on: the request's
# duration includes the probe.
STARTED_KEY = "brisk.started"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An id we accept from a client: what UUIDs, trace ids and hex tokens look like, bounded, so a
# hostile header can neither bloat the logs nor forge log structure.
_VALID_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}").fullmatch
REQUEST_ID_HEADER = b"x-request-id"


class RouteTemplates:
    """The full template (`/api/articles/{slug}`) of the route a request matched.

    FastAPI >= 0.16x no longer copies included routes: `scope["route"]` is the router's own
    APIRoute, whose path lacks the include prefix. The full paths are read once from the app's
    routes (its effective route contexts where FastAPI has them, else the routes themselves).

    A request answered before routing (413 from the body limit) or by a mount (the docs'
    files) carries no route: its path is matched against the same templates, so it is counted
    under its route, and only paths no route has are `unmatched`.
    """

    def __init__(self, routes: Callable[[], Iterable[Any]]) -> None:
        self._routes = routes
        self._by_route: dict[int, str] | None = None
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def _build(self) -> dict[int, str]:
        by_route: dict[int, str] = {}
        for route in self._routes():
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is None:
                template = str(getattr(route, "path_format", UNMATCHED))
                if isinstance(route, Mount):
                    template = f"{route.path}/{{path}}"
                by_route[id(route)] = template
                continue
            for context in contexts():
                by_route.setdefault(id(context.original_route), context.path)
        # Most literal first, as routing does: /api/articles/feed before /api/articles/{slug}.
        templates = sorted(set(by_route.values()) - {UNMATCHED}, key=lambda t: t.count("{"))
        self._patterns = [(_template_pattern(t), t) for t in templates]
        return by_route

    def _match(self, path: str) -> str:
        if self._by_route is None:
            self._by_route = self._build()
        for pattern, template in self._patterns:
            if pattern.fullmatch(path):
                return template
        return UNMATCHED

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            named = scope.get(ROUTE_KEY)
            return str(named) if named is not None else self._match(scope["path"])
        if self._by_route is None:
            self._by_route = self._build()
        template = self._by_route.get(id(route))
        return template or str(getattr(route, "path_format", UNMATCHED))


def _template_pattern(template: str) -> re.Pattern[str]:
    """`/api/articles/{slug}` -> a regex of its paths; a mount's `{path}` takes the rest."""
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        (".*" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


def server_timing(timing: RequestTiming, app_seconds: float, *, detail: bool = True) -> bytes:
    """`db` and `cache`: time in queries and cache calls (concurrent ones add up);
    `app`: the whole request inside brisk up to the response headers. Durations in ms.
    Without `detail`, only `app`: the rest tells anyone whether a resource was read lately."""
    if not detail:  # the default, on every request: bytes formatting, no str to encode
        return b"app;dur=%.3f" % (app_seconds * 1000)
    return (
        f'db;dur={timing.db_seconds * 1000:.3f};desc="{timing.db_queries} queries", '
        f'cache;dur={timing.cache_seconds * 1000:.3f};desc="{timing.cache_calls} calls, '
        f'{timing.cache_hits} hits, {timing.cache_misses} misses", '
        f"app;dur={app_seconds * 1000:.3f}"
    ).encode()


class RequestIds:
    """Accepts a client's X-Request-ID when it is well formed, else makes a unique one."""

    def __init__(self) -> None:
        # A random prefix per process and a counter: unique across workers, and far cheaper
        # than a uuid4 per request.
        # What every generated id starts with (a client's own id does not, as a rule).
        self.prefix = os.urandom(6).hex().encode() + b"-"
        self._counter = itertools.count(1)

    def __call__(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        for name, value in headers:
            if name == REQUEST_ID_HEADER and _VALID_ID(value):
                return value
        return b"%s%x" % (self.prefix, next(self._counter))


class InFlight:
    """Requests inside the app right now: a plain int on the request path (a Gauge's inc/dec
    take a lock each), read by the gauge at scrape time or by the sampler."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> float:
        return self.count

    async def settled(self, seconds: float) -> bool:
        """Wait up to `seconds` for the requests in flight to finish; whether they did.
        uvicorn waits for them before the lifespan ends; granian does not, and closing the
        pools under them fails them with "pool is closing" (ADR 0003)."""
        deadline = time.monotonic() + seconds
        # Polled, not an Event: the request path stays an integer increment.
        while self.count > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return self.count == 0


class TelemetryMiddleware:
    """Per request: the id and Server-Timing headers, the request histogram, the access line.

    A cached read on the fast path costs ~28 us on granian, so this must stay near 1 us: the
    request path is one coroutine and a plain send function (no coroutine per message), with
    the histogram's bucket and the request's timing updated inline, no Python call per item
    (each was ~1,000 instructions, callgrind, docs/BENCHMARKS.md). An access line is ~14,000
    instructions however it is formatted, so the fast path's ordinary answers are logged one
    in `sample_every` (ADR 0026); every request is counted in the metrics.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        answers: Answers | None = None,
        tracing: Tracing | None = None,
        routes: Callable[[], Iterable[Any]] = tuple,
        in_flight: InFlight | None = None,
        server_timing_detail: str = "all",
    ) -> None:
        self.app = app
        # "all", "signed-in" (requests carrying a token) or "total" (TelemetrySettings).
        self.server_timing_detail = server_timing_detail
        self.metrics = metrics
        self.tracing = tracing
        self.route_template = RouteTemplates(routes)
        self.in_flight = in_flight if in_flight is not None else InFlight()
        self.answers = answers if answers is not None else Answers(metrics)
        self.request_ids = self.answers.request_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = scope.get(STARTED_KEY) or time.perf_counter()
        request_id = self.request_ids(scope["headers"])
        timing = RequestTiming()
        timing.request_id = request_id
        token = current_timing.set(timing)
        span = self.tracing.start_request(scope) if self.tracing is not None else None
        status = 500  # what the client gets if the app raises before answering
        detail = self.server_timing_detail != "total" and self._detail(scope)

        def send_with_headers(message: Message) -> Awaitable[None]:
            # Not a coroutine: it hands back the server's own awaitable.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                seconds = time.perf_counter() - started
                # A new list: the app may reuse its own (Starlette's Response.raw_headers).
                message["headers"] = [
                    *message.get("headers", ()),
                    (REQUEST_ID_HEADER, request_id),
                    (
                        b"server-timing",
                        server_timing(timing, seconds)
                        if detail
                        else b"app;dur=%.3f" % (seconds * 1000),
                    ),
                ]
            return send(message)

        self.in_flight.count += 1
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            self.in_flight.count -= 1
            current_timing.reset(token)
            self._finish(scope, timing, status, elapsed, span)

    def _detail(self, scope: Scope) -> bool:
        if self.server_timing_detail == "all":
            return True
        return any(name == b"authorization" for name, _ in scope["headers"])

    def _finish(
        self, scope: Scope, timing: RequestTiming, status: int, elapsed: float, span: Any
    ) -> None:
        fast = scope.get(ROUTE_KEY)  # answered before routing (the cache's fast path)
        route = fast if fast is not None else self.route_template(scope)
        method = scope["method"]
        if method not in METHODS:
            method = "_OTHER"
        self.answers.record(
            scope, method, route, status, elapsed, timing.request_id, fast is not None, timing
        )
        if span is not None and self.tracing is not None:
            self.tracing.end_request(span, method, route, status)


class Answers:
    """What every answered request leaves: its count in the request histogram, its /_perf
    record and its access line (the fast path's ordinary answers one in `sample_every`, ADR
    0026). One instance serves the middleware and the fast path's own answers (FastAnswers),
    so the two count and log alike."""

    def __init__(
        self,
        metrics: Metrics,
        access_log: AccessLog | None = None,
        recorder: PerfRecorder | None = None,
        quiet_routes: frozenset[str] = frozenset(),
        sample_every: int = 1,
        slow_seconds: float = 0.1,
    ) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self.recorder = recorder
        # Routes measured but not written to the access log (probes, scrapes).
        self.quiet_routes = quiet_routes
        self.request_ids = RequestIds()
        self.sample = AccessSample(sample_every, slow_seconds)
        self._children: dict[tuple[str, str, int], BufferedHistogram] = {}

    def record(
        self,
        scope: Scope,
        method: str,
        route: str,
        status: int,
        elapsed: float,
        request_id: bytes,
        fast: bool,
        timing: RequestTiming | None = None,
    ) -> None:
        """`timing` is None for the fast path's own answers (FastAnswers): they made no query
        and their L1 reads are counted in the cache metrics, not per request."""
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.metrics.histogram(
                self.metrics.request_duration, method, route, str(status)
            )
        child.counts[bisect.bisect_left(child.bounds, elapsed)] += 1
        child.total += elapsed
        if self.recorder is not None:
            self.recorder.record(route, elapsed)
        if self.access_log is not None and route not in self.quiet_routes:
            weight = 1
            sample = self.sample
            if (
                fast
                and sample.every > 1
                and status < 400
                and elapsed < sample.slow
                and request_id.startswith(self.request_ids.prefix)
            ):
                sample.skipped += 1
                if sample.skipped < sample.every:
                    weight = 0
                else:
                    weight, sample.skipped = sample.every, 0
            if weight:
                if timing is None:
                    timing = RequestTiming.of(request_id)
                self.access_log.request(scope, method, route, status, elapsed, timing, weight)


class FastAnswers:
    """The telemetry of the answers the cache's fast path sends itself, as the outermost layer
    (ADR 0028). With Server-Timing `total` and no tracing, what a cached read needs of the
    telemetry middleware is an id, `app;dur`, its count, the in-flight count and (one in
    `sample_every`) a line: given here, a hit skips the middleware's per-request timing
    context, its send wrapper and its own pass over the headers."""

    __slots__ = ("answers", "in_flight")

    def __init__(self, answers: Answers, in_flight: InFlight) -> None:
        self.answers = answers
        self.in_flight = in_flight

    def begin(self, scope: Scope, started: float, headers: list[tuple[bytes, bytes]]) -> bytes:
        """Adds the id and `app;dur` to a hit's headers, before it is sent; its id."""
        request_id = self.answers.request_ids(scope["headers"])
        headers.append((REQUEST_ID_HEADER, request_id))
        headers.append(
            (b"server-timing", b"app;dur=%.3f" % ((time.perf_counter() - started) * 1000))
        )
        self.in_flight.count += 1
        return request_id

    def done(self, scope: Scope, started: float, status: int, request_id: bytes) -> None:
        """After it was sent (or the client went away): counted, and maybe logged."""
        self.in_flight.count -= 1
        elapsed = time.perf_counter() - started
        self.answers.record(scope, "GET", scope[ROUTE_KEY], status, elapsed, request_id, True)


class AccessSample:
    """Which of the fast path's ordinary answers get an access line: one in `every`.

    Ordinary: answered from L1 before routing, status below 400, faster than `slow`, with an id
    of ours. Every other request (routed, an error, a slow one, one whose client sent its own
    X-Request-ID to look it up by) always gets its line. The written line says
    how many it stands for (`sample_every`), so counts read from the log stay right."""

    __slots__ = ("every", "skipped", "slow")

    def __init__(self, every: int, slow: float) -> None:
        self.every = every
        self.slow = slow
        self.skipped = 0
