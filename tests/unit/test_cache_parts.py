"""The cache's in-process parts: L1's byte bound, TTL and generations; keys and their slots."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from redis.crc import key_slot

from brisk.cache.breaker import Breaker
from brisk.cache.keys import KeySpace
from brisk.cache.local import ENTRY_OVERHEAD, LocalCache


def _l1(max_bytes: int = 10_000, ttl: float = 60.0) -> LocalCache:
    local = LocalCache(max_bytes=max_bytes, ttl=ttl, degraded_ttl=0.0)
    local.coherent = True
    return local


def test_l1_stays_within_its_byte_bound_evicting_the_least_recently_used() -> None:
    local = _l1(max_bytes=8 * (100 + ENTRY_OVERHEAD + 3))  # eight entries of 3-char keys
    for i in range(20):
        assert local.put(f"k{i:02d}", b"x" * 100, local.generation())
        local.get("k00")  # keep reading the first one
    assert local.size_bytes <= local.max_bytes
    assert local.get("k00") is not None
    assert local.get("k01") is None
    assert local.get("k19") is not None


def test_l1_counts_at_least_the_memory_its_entries_take() -> None:
    # max_bytes bounds the process's memory only if an entry is counted at what it costs:
    # with 160 bytes of overhead an entry was counted ~100 bytes short.
    local = _l1(max_bytes=1 << 40)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(30_000):  # past two resizes of the dict, where a slot costs the most
            local.put(f"brisk:v1:{{card:{i}}}", b"%d," % i * 60, local.generation())
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started:
            tracemalloc.stop()
    assert local.size_bytes >= taken


def test_l1_drops_expired_entries_that_nobody_reads_again() -> None:
    # A superseded version's key is never asked for again: without a sweep it stayed until
    # the byte bound pushed it out, so L1 grew towards max_bytes of dead values.
    local = _l1(ttl=0.001, max_bytes=1 << 30)
    for i in range(100):
        local.put(f"old{i}", b"v" * 100, local.generation())
    time.sleep(0.01)
    local.ttl = 60.0
    for i in range(100):
        local.put(f"new{i}", b"v" * 100, local.generation())
    assert len(local) == 100
    assert local.usage() == (sum(100 + len(f"new{i}") + ENTRY_OVERHEAD for i in range(100)), 100)
    assert all(local.get(f"new{i}") is not None for i in range(100))


def test_l1_refuses_a_value_whose_key_was_invalidated_after_the_read_began() -> None:
    local = _l1()
    before = local.generation()
    local.invalidate(["a"])
    assert not local.put("a", b"old", before)
    assert local.get("a") is None
    assert local.put("b", b"unrelated", before)  # other keys are not affected
    assert local.put("a", b"new", local.generation())
    assert local.get("a") == b"new"


def test_l1_clear_refuses_everything_read_before_it() -> None:
    local = _l1()
    before = local.generation()
    local.clear()
    assert not local.put("x", b"v", before)


def test_l1_entries_expire() -> None:
    local = _l1(ttl=0.001)
    local.put("a", b"v", local.generation())
    time.sleep(0.01)
    assert local.get("a") is None
    assert local.size_bytes == 0


def test_l1_without_its_subscription_keeps_nothing_when_degraded_ttl_is_zero() -> None:
    local = _l1()
    local.coherent = False
    assert not local.put("a", b"v", local.generation())


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = Breaker(failure_threshold=3)
    assert not breaker.failure()
    breaker.success()
    assert not breaker.failure()
    assert not breaker.failure()
    assert breaker.failure()
    assert breaker.is_open
    breaker.close()
    assert not breaker.is_open


@pytest.mark.parametrize("family", ["user", "profile", "article", "comments", "unread"])
def test_a_value_and_its_lease_share_one_cluster_slot(family: str) -> None:
    keys = KeySpace("brisk")
    key = getattr(keys, family)("x{y}z" if family in ("profile", "article", "comments") else 7)
    assert key_slot(key.name.encode()) == key_slot(key.lease.encode())


def test_version_tokens_share_one_slot_for_mget() -> None:
    keys = KeySpace("brisk")
    slots = {key_slot(keys.version(n).encode()) for n in ("articles", "profiles", "viewer:9")}
    assert len(slots) == 1


def test_keys_carry_the_namespace_and_format_version() -> None:
    assert KeySpace("tenant-a").article("s").name == "tenant-a:c2:{article:s}"
    assert KeySpace("tenant-a").article("s") != KeySpace("tenant-b").article("s")
