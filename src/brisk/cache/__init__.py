"""The two-level cache: in-process L1, Redis L2, evictions over pub/sub (ADR 0006)."""

from brisk.cache.keys import ARTICLES, PROFILES, Key, KeySpace, viewer
from brisk.cache.outbox import Stale
from brisk.cache.store import Cache, CacheObserver

__all__ = [
    "ARTICLES",
    "PROFILES",
    "Cache",
    "CacheObserver",
    "Key",
    "KeySpace",
    "Stale",
    "viewer",
]
