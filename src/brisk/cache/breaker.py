"""A circuit breaker for Redis: after a few failures in a row, stop asking for a while.

While open, requests skip Redis entirely (no per-request timeout); a background probe, not a
request, finds out when Redis is back and closes it.
"""

from __future__ import annotations

import time


class Breaker:
    __slots__ = ("_failures", "failure_threshold", "opened_at", "opens")

    def __init__(self, *, failure_threshold: int) -> None:
        self.failure_threshold = failure_threshold
        self._failures = 0
        self.opened_at: float | None = None
        # How many times it has opened since start: a counter for metrics and tests.
        self.opens = 0

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def success(self) -> None:
        self._failures = 0

    def failure(self) -> bool:
        """Count a failure; True when this one opened the breaker."""
        self._failures += 1
        if self.opened_at is None and self._failures >= self.failure_threshold:
            self.opened_at = time.monotonic()
            self.opens += 1
            return True
        return False

    def trip(self) -> bool:
        """Open now, whatever the count; True when this opened it."""
        self._failures = max(self._failures, self.failure_threshold - 1)
        return self.failure()

    def close(self) -> None:
        self._failures = 0
        self.opened_at = None
