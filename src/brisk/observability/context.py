"""Per-request timing, accumulated through a contextvar by the database and cache observers."""

from __future__ import annotations

from contextvars import ContextVar


class RequestTiming:
    """Where one request's time went; tasks it starts share it (they copy the context).

    No `__init__`: the fields start as the class's zeros, so making one per request is an
    allocation and no Python call (a call was ~1,500 instructions of a fast-path request's
    telemetry, callgrind, docs/BENCHMARKS.md). `request_id` is the bytes of the X-Request-ID
    header: well-formed ids only, so they need no JSON escaping.
    """

    request_id: bytes = b""
    db_seconds: float = 0.0
    db_queries: int = 0
    cache_seconds: float = 0.0
    cache_calls: int = 0
    # Lookups answered by a cache layer, and lookups that found nothing in the last layer
    # (Redis missed, failed or was bypassed): the lab's hit ratio per request kind.
    cache_hits: int = 0
    cache_misses: int = 0

    @classmethod
    def of(cls, request_id: bytes) -> RequestTiming:
        timing = cls()
        timing.request_id = request_id
        return timing


# Set by the telemetry middleware for the duration of a request; None outside one.
current_timing: ContextVar[RequestTiming | None] = ContextVar("brisk_request_timing", default=None)


def add_query(seconds: float) -> None:
    """Count one query towards the current request (concurrent queries add up)."""
    timing = current_timing.get()
    if timing is not None:
        timing.db_seconds += seconds
        timing.db_queries += 1


def current_request_id() -> str | None:
    timing = current_timing.get()
    return None if timing is None else timing.request_id.decode()
