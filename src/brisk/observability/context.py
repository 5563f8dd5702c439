"""Per-request timing, accumulated through a contextvar by the database and cache observers."""

from __future__ import annotations

from contextvars import ContextVar


class RequestTiming:
    """Where one request's time went; tasks it starts share it (they copy the context)."""

    __slots__ = (
        "cache_calls",
        "cache_hits",
        "cache_misses",
        "cache_seconds",
        "db_queries",
        "db_seconds",
        "request_id",
    )

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.db_seconds = 0.0
        self.db_queries = 0
        self.cache_seconds = 0.0
        self.cache_calls = 0
        # Lookups answered by a cache layer, and lookups that found nothing in the last layer
        # (Redis missed, failed or was bypassed): the lab's hit ratio per request kind.
        self.cache_hits = 0
        self.cache_misses = 0


# Set by the telemetry middleware for the duration of a request; None outside one.
current_timing: ContextVar[RequestTiming | None] = ContextVar("brisk_request_timing", default=None)


def add_query(seconds: float) -> None:
    """Count one query towards the current request (concurrent queries add up)."""
    timing = current_timing.get()
    if timing is not None:
        timing.db_seconds += seconds
        timing.db_queries += 1


def add_cache_call(seconds: float, layer: str = "l1", result: str = "hit") -> None:
    timing = current_timing.get()
    if timing is not None:
        timing.cache_seconds += seconds
        timing.cache_calls += 1
        if result == "hit":
            timing.cache_hits += 1
        elif layer == "l2":
            timing.cache_misses += 1


def current_request_id() -> str | None:
    timing = current_timing.get()
    return None if timing is None else timing.request_id
