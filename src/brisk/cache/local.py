"""L1: this process's cache of value bytes, bounded in bytes, with a TTL per entry.

Coherence with other processes comes from brisk.cache.bus: every eviction published over Redis
is applied here, and while the subscription is down (evictions may be missed) the entries are
flushed and new ones live only ``degraded_ttl`` seconds.

The stale-set race inside one process (a reader fetched the old value, a writer invalidated the
key, the reader then stores the old value) is closed by generations: a reader takes
``generation()`` before it reads L2 or the database, and ``put`` refuses the value when the key
was invalidated after that.
"""

from __future__ import annotations

import time
from collections import OrderedDict

# What an entry costs beyond the lengths of its key and value: the str and bytes headers, the
# (value, expiry) tuple and its float, the OrderedDict's slot and node. Measured with
# tracemalloc at 168-261 bytes (the most just after the dict grew), plus glibc's chunk header
# for values over 512 bytes; the bound counts the worst case, so max_bytes bounds real memory
# (160, the earlier guess, undercounted by ~100 bytes an entry).
ENTRY_OVERHEAD = 288
# Expired entries dropped from the least recently used end per put, at most: a sweep that
# keeps up with the puts, without a long pause when a quiet spell lets everything expire.
SWEPT_PER_PUT = 8
# How many recent invalidations are remembered per key; older ones fall back to a floor.
REMEMBERED_INVALIDATIONS = 4096


class LocalCache:
    __slots__ = (
        "_bytes",
        "_entries",
        "_floor",
        "_generation",
        "_invalidated",
        "coherent",
        "degraded_ttl",
        "max_bytes",
        "ttl",
    )

    def __init__(self, *, max_bytes: int, ttl: float, degraded_ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.degraded_ttl = degraded_ttl
        # False until the eviction subscription is confirmed, and again whenever it drops.
        self.coherent = False
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._generation = 0
        self._invalidated: OrderedDict[str, int] = OrderedDict()
        # Any reader that started before this generation may have missed a forgotten
        # invalidation, so its value is refused.
        self._floor = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def usage(self) -> tuple[int, int]:
        """(bytes accounted, entries): what the brisk_cache_l1_* gauges show."""
        return self._bytes, len(self._entries)

    def get(self, key: str) -> bytes | None:
        entry = self.get_entry(key)
        return None if entry is None else entry[0]

    def get_entry(self, key: str) -> tuple[bytes, float] | None:
        """The value and the monotonic time it expires at, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def generation(self) -> int:
        return self._generation

    def put(self, key: str, value: bytes, since: int) -> bool:
        """Store unless the key was invalidated after generation ``since``; True if stored."""
        last = self._invalidated.get(key)
        if (last if last is not None else self._floor) > since:
            return False
        cost = len(value) + len(key) + ENTRY_OVERHEAD
        if cost > self.max_bytes // 8:
            return False  # one huge value must not flush everything else
        ttl = self.ttl if self.coherent else self.degraded_ttl
        if ttl <= 0:
            return False
        self._drop(key)
        now = time.monotonic()
        self._sweep(now)
        self._entries[key] = (value, now + ttl)
        self._bytes += cost
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
        return True

    def _sweep(self, now: float) -> None:
        """Drop expired entries from the least recently used end. Without it an entry that is
        never read again (a superseded version's key, an article no page lists any more) stays
        until the byte bound pushes it out, so L1 grows towards max_bytes of dead values. Puts
        and reads move entries to the end, so once the sweep has caught up every entry left was
        put or read within the last TTL: L1 holds what is in use lately, up to max_bytes."""
        for _ in range(SWEPT_PER_PUT):
            oldest = next(iter(self._entries), None)
            if oldest is None or self._entries[oldest][1] >= now:
                return
            self._drop(oldest)

    def invalidate(self, keys: list[str]) -> None:
        for key in keys:
            self._generation += 1
            self._invalidated[key] = self._generation
            self._invalidated.move_to_end(key)
            self._drop(key)
        while len(self._invalidated) > REMEMBERED_INVALIDATIONS:
            _, forgotten = self._invalidated.popitem(last=False)
            self._floor = max(self._floor, forgotten)

    def clear(self) -> None:
        """Drop everything, and refuse values that readers fetched before now."""
        self._generation += 1
        self._floor = self._generation
        self._invalidated.clear()
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0]) + len(key) + ENTRY_OVERHEAD
