"""The two-level cache: in-process L1, Redis L2, evictions over pub/sub (ADR 0006)."""

from brisk.cache.keys import EMBEDDED, MEMBERSHIP, Key, KeySpace, follows, viewer
from brisk.cache.outbox import Stale
from brisk.cache.store import BatchLoader, Cache, CacheObserver

__all__ = [
    "EMBEDDED",
    "MEMBERSHIP",
    "BatchLoader",
    "Cache",
    "CacheObserver",
    "Key",
    "KeySpace",
    "Stale",
    "follows",
    "viewer",
]
