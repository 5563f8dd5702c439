"""Cache-aside reads through L1 and L2, and invalidation after writes.

    read:  L1 -> L2 (Redis) -> lease -> loader (PostgreSQL) -> L2 (only if the lease still
           holds) -> L1 (only if no eviction arrived meanwhile)
    write: record what is stale in the write's transaction (outbox) -> commit -> delete L2
           keys and their leases, renew version tokens -> drop from this L1 -> publish the keys
           so other processes drop them too; what could not be sent is relayed from the outbox

The lease (Facebook's memcache leases, NSDI 2013, rebuilt on SET NX + a compare-and-set script)
closes the cross-process stale-set race: invalidation deletes the lease, so a loader that read
the old row before the write can no longer store it. Single-flight closes the in-process
stampede: concurrent misses of one key share one load, which runs in its own task so a
cancelled request does not cancel it for the others.

Each Redis round trip is one method of `cache.remote.RemoteCache`; this module decides when
to make them. Redis failing is never an error for the caller: it is counted, the breaker opens
after a few failures in a row, reads go to PostgreSQL, and a background probe closes the
breaker when Redis answers again (after relaying the outbox: every invalidation not sent yet,
whoever wrote it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Final

from redis.exceptions import RedisError

from brisk.cache.breaker import Breaker
from brisk.cache.bus import EvictionBus
from brisk.cache.keys import Key, KeySpace
from brisk.cache.local import LocalCache
from brisk.cache.outbox import Outbox, Relay, Stale
from brisk.cache.redis_client import REDIS_ERRORS, RedisClient
from brisk.cache.remote import RemoteCache, new_token
from brisk.db import Executor
from brisk.settings import CacheSettings

log = logging.getLogger(__name__)

# (layer "l1"|"l2", key family, result "hit"|"miss"|"error"|"bypass", seconds)
CacheObserver = Callable[[str, str, str, float], None]
Loader = Callable[[], Awaitable[bytes]]
BatchLoader = Callable[[list[Key]], Awaitable[dict[str, bytes]]]

INVALIDATION_CHUNK = 500
# Refills after writes in flight at once, at most (each is a few indexed reads).
MAX_REFILLS = 64
# L1-only entries (cards) read within this long of their L1 expiry are read again in the
# background, so a hot page never waits for one of its cards.
REFRESH_AHEAD_SECONDS = 2.0
# Set inside a refill (Cache.refill): it reads what its write has just deleted from L2, so its
# fills skip the L2 GET and go straight to the lease, which hands back the value instead if
# another process stored one since (one Redis round trip fewer per entry a write refills).
_REFILLING: contextvars.ContextVar[bool] = contextvars.ContextVar("refilling", default=False)
_FAILED: Final = object()
_REDIS_ERRORS = REDIS_ERRORS


class Cache:
    def __init__(
        self,
        settings: CacheSettings,
        redis: RedisClient | None,
        subscriber: RedisClient | None = None,
        outbox: Outbox | None = None,
        *,
        fill_scope: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.settings = settings
        # Entered around every load that fills a shared entry: the lifespan passes
        # db.routing.primary_only, so the cache needs no knowledge of where reads go.
        self._fill_scope = fill_scope
        self.enabled = settings.enabled
        self.keys = KeySpace(settings.namespace)
        self.local = LocalCache(
            max_bytes=settings.l1_max_bytes,
            ttl=settings.l1_ttl_seconds,
            degraded_ttl=settings.l1_degraded_ttl_seconds,
        )
        self.breaker = Breaker(failure_threshold=settings.breaker_failures)
        self.observers: list[CacheObserver] = []
        self._redis = redis
        # The eviction subscription uses its own connection (see bus.subscriber_client).
        self._bus = None
        if subscriber is not None:
            self._bus = EvictionBus(
                subscriber,
                self.keys.eviction_channel,
                self.local,
                self._evict_local,
                owns_client=subscriber is not redis,
            )
        self._l2 = RemoteCache(redis, self.keys) if redis is not None else None
        self._flights: dict[str, asyncio.Task[bytes]] = {}
        self._batches: dict[str, asyncio.Task[dict[str, bytes]]] = {}
        self._refills: set[asyncio.Task[None]] = set()
        # What the peeks of the fast path's current request missed that is being loaded.
        self._in_flight: list[tuple[Key, asyncio.Future[Any]]] = []
        # Without Redis there is no other process to tell, and nothing to relay.
        self.outbox = outbox if redis is not None else None
        self._relay = None
        if self.outbox is not None:
            self._relay = Relay(
                self.outbox,
                self._relay_send,
                interval=settings.outbox_relay_seconds,
                grace=settings.outbox_grace_seconds,
                # Reads off or on, this process relays: invalidation is every writer's duty.
                paused=lambda: self.breaker.is_open,
            )
        self._probe: asyncio.Task[None] | None = None
        # Test hook: awaited between a load and storing it, to force the stale-set race.
        self.before_store: Callable[[Key], Awaitable[None]] | None = None

    @property
    def breaker_open(self) -> bool:
        return self.breaker.is_open

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._relay is not None:
            self._relay.start()
        if self._bus is not None and self.enabled:
            self._bus.start()
            # Serve from L1 as soon as evictions flow; until then L1 runs degraded.
            await self._bus.wait_subscribed(self.settings.subscribe_wait_seconds)

    async def stop(self) -> None:
        for task in list(self._refills):
            task.cancel()
        # Awaited, so no refill's query outlives the app (its connection is back in the pool).
        await asyncio.gather(*self._refills, return_exceptions=True)
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._bus is not None:
            await self._bus.stop()
        if self._relay is not None:
            await self._relay.stop()

    # -- reads -------------------------------------------------------------------------------

    def peek(self, key: Key) -> bytes | None:
        """An L1 hit or None; for the ASGI fast path, which must never wait."""
        if not self.enabled:
            return None
        value = self.local.get(key.name)
        if value is not None:  # a miss goes on to get_or_load, which counts it
            # The observers called here, not through _observe: an L1 hit is most reads, and
            # a Python call is ~700 instructions of a cached read's ~90,000 (callgrind).
            for observer in self.observers:
                observer("l1", key.family, "hit", 0.0)
        else:
            self._note_in_flight(key, self._flights.get(key.name))
        return value

    def _note_in_flight(self, key: Key, flight: asyncio.Future[Any] | None) -> None:
        # Bounded: peeks outside the fast path (the full route's) are never collected.
        if flight is not None and len(self._in_flight) < 64:
            self._in_flight.append((key, flight))

    def loads_missed(self) -> list[tuple[Key, asyncio.Future[Any]]]:
        """The loads in flight of the keys the peeks since the last call missed (and forgets
        them). The fast path waits for them and peeks again instead of taking the full route,
        which would only join the same loads: what L1 then holds obeys the same generations,
        so the wait changes what a read costs, never what it sees. Peeks run without a switch
        between them, so the list is one request's. Called on every fast-path request: with
        nothing noted it hands back the (empty) list it keeps, allocating nothing."""
        found = self._in_flight
        if found:
            self._in_flight = []
        return found

    async def wait_for(self, loads: list[tuple[Key, asyncio.Future[Any]]]) -> None:
        """Wait (without cancelling them, and without their errors) for loads a peek missed;
        each counts as the L1 miss it was."""
        for key, _ in loads:
            self._observe("l1", key.family, "miss", 0.0)
        await asyncio.wait([flight for _, flight in loads])

    async def get_or_load(self, key: Key, loader: Loader) -> bytes:
        if not self.enabled:
            return await loader()
        value = self.local.get(key.name)
        if value is not None:
            for observer in self.observers:
                observer("l1", key.family, "hit", 0.0)
            return value
        self._observe("l1", key.family, "miss", 0.0)
        flight = self._flights.get(key.name)
        if flight is None:
            flight = asyncio.create_task(self._fill(key, loader))
            self._flights[key.name] = flight
            flight.add_done_callback(lambda done: self._landed(key.name, done))
        # shield: a cancelled request stops waiting; the load goes on for the other waiters.
        return await asyncio.shield(flight)

    async def versions(self, names: list[str]) -> tuple[str, ...] | None:
        """The current tokens of `names`, or None when they cannot be known now (Redis away).

        Tokens are kept in L1 like entries (ADR 0020): a write renews them in Redis and evicts
        them from every L1 the way it evicts keys, so a hit needs no round trip."""
        redis_keys = [self.keys.version(n) for n in names]
        held = self._local_versions(redis_keys)
        if held is not None:
            return held
        since = self.local.generation()
        values = await self._call("version", RemoteCache.versions, redis_keys)
        if values is _FAILED:
            return None
        for name, value in zip(redis_keys, values, strict=True):
            self.local.put(name, value.encode(), since)
        return values  # type: ignore[no-any-return]

    def peek_versions(self, names: list[str]) -> tuple[str, ...] | None:
        """The tokens of `names` if L1 holds them all; for the fast path, which never waits."""
        if not self.enabled:
            return None
        return self._local_versions([self.keys.version(n) for n in names])

    def _local_versions(self, redis_keys: list[str]) -> tuple[str, ...] | None:
        found = []
        for name in redis_keys:
            value = self.local.get(name)
            if value is None:
                return None
            found.append(value.decode())
        return tuple(found)

    async def get_many(self, keys: list[Key], load: BatchLoader) -> dict[str, bytes]:
        """Values of many small entries by key name, from L1; the missing ones loaded together
        by one `load` call (one query for a page's cards). Not shared through L2: a batch from
        PostgreSQL costs about what one from Redis does, and L1's generations keep a load that
        raced a write from being stored. Concurrent misses of a key share its load. A key the
        load does not return (the row is gone) is absent from the result."""
        if not self.enabled:
            return await load(keys)
        found: dict[str, bytes] = {}
        waits: dict[str, asyncio.Task[dict[str, bytes]]] = {}
        missing: list[Key] = []
        expiring: list[Key] = []
        soon = time.monotonic() + REFRESH_AHEAD_SECONDS
        for key in keys:
            entry = self.local.get_entry(key.name)
            if entry is not None:
                for observer in self.observers:
                    observer("l1", key.family, "hit", 0.0)
                found[key.name] = entry[0]
                if entry[1] < soon and key.name not in self._batches:
                    expiring.append(key)
                continue
            self._observe("l1", key.family, "miss", 0.0)
            # Not stored in L2, so not found there either: reported as L2's miss, so that every
            # read that reaches the database counts as one (metrics, the lab's hit ratio).
            self._observe("l2", key.family, "miss", 0.0)
            flight = self._batches.get(key.name)
            if flight is None:
                missing.append(key)
            else:
                waits[key.name] = flight
        if missing:
            task = self._batch(missing, load)
            waits.update((key.name, task) for key in missing)
        self._refresh_ahead(expiring, load)
        for name, flight in waits.items():
            value = (await asyncio.shield(flight)).get(name)
            if value is not None:
                found[name] = value
        return found

    def _batch(
        self, keys: list[Key], load: BatchLoader, *, context: contextvars.Context | None = None
    ) -> asyncio.Task[dict[str, bytes]]:
        """One load of `keys`, which later misses of any of them join."""
        task = asyncio.create_task(self._fill_many(keys, load), context=context)
        for key in keys:
            self._batches[key.name] = task
        task.add_done_callback(lambda done: self._landed_many(keys, done))
        return task

    def peek_many(self, keys: list[Key], load: BatchLoader) -> list[bytes] | None:
        """Every value from L1, or None (the fast path, which never waits); as `get_many`, the
        hits about to leave L1 are read again in the background with `load`."""
        if not self.enabled:
            return None
        values, expiring = [], []
        soon = time.monotonic() + REFRESH_AHEAD_SECONDS
        for key in keys:
            entry = self.local.get_entry(key.name)
            if entry is None:
                self._note_in_flight(key, self._batches.get(key.name))
                return None  # the full path counts the miss and loads
            values.append(entry[0])
            if entry[1] < soon and key.name not in self._batches:
                expiring.append(key)
        for key in keys:
            for observer in self.observers:
                observer("l1", key.family, "hit", 0.0)
        self._refresh_ahead(expiring, load)
        return values

    def _refresh_ahead(self, keys: list[Key], load: BatchLoader) -> None:
        # Hits about to leave L1 (its TTL, the safety net for a lost eviction message) are read
        # again in the background, off the request, so a hot entry never misses. Only while L1
        # is coherent: in degraded mode every entry is short-lived on purpose.
        if keys and self.local.coherent:
            self._batch(keys, load, context=contextvars.Context())

    async def _fill_many(self, keys: list[Key], load: BatchLoader) -> dict[str, bytes]:
        since = self.local.generation()
        with self._fill_scope():
            loaded = await load(keys)
        for name, value in loaded.items():
            self.local.put(name, value, since)
        return loaded

    def _landed_many(self, keys: list[Key], done: asyncio.Task[dict[str, bytes]]) -> None:
        for key in keys:
            if self._batches.get(key.name) is done:
                del self._batches[key.name]
        if not done.cancelled():
            done.exception()

    def generation(self) -> int:
        """For a loader that fills other entries as it goes (`warm`): take it before reading."""
        return self.local.generation()

    def warm(self, key: Key, value: bytes, since: int) -> None:
        """Store in L1 what a loader read on the way (a list's cards), unless a write
        invalidated the key after generation `since`."""
        if self.enabled:
            self.local.put(key.name, value, since)

    def _landed(self, name: str, done: asyncio.Task[bytes]) -> None:
        if self._flights.get(name) is done:
            del self._flights[name]
        if not done.cancelled():
            done.exception()  # retrieved, so an abandoned failed load is not logged as lost

    async def _fill(self, key: Key, loader: Loader) -> bytes:
        since = self.local.generation()
        value = None if _REFILLING.get() else await self._l2_get(key)
        if value is None:
            # Every reader trusts what is stored: load it from the primary, never from a
            # replica that may not have replayed the write that just invalidated it (ADR 0012).
            with self._fill_scope():
                value = await self._load_leased(key, loader)
        self.local.put(key.name, value, since)
        return value

    async def _l2_get(self, key: Key) -> bytes | None:
        started = time.perf_counter()
        value = await self._call(key.family, RemoteCache.get, key.name)
        if value is _FAILED:
            return None
        self._observe("l2", key.family, "miss" if value is None else "hit", _since(started))
        return value  # type: ignore[no-any-return]

    async def _load_leased(self, key: Key, loader: Loader) -> bytes:
        token = new_token()
        lease_ms = int(self.settings.lease_seconds * 1000)
        got = await self._call(key.family, RemoteCache.value_or_lease, key, token, lease_ms)
        if got is _FAILED:
            return await loader()
        if isinstance(got, bytes):
            return got  # another loader stored it since our miss
        if not got:
            waited = await self._wait_for_other_loader(key)
            if waited is not None:
                return waited
            return await loader()  # the other loader is slow or gone: load, but don't store
        try:
            value = await loader()
        except Exception:
            # Otherwise every reader of this key, here and in other processes, would wait
            # lease_wait_seconds for a value that never comes before failing in turn: during a
            # database outage that turned each fast 503 into a 0.5 s one.
            await self._call(key.family, RemoteCache.give_back_lease, key.lease, token)
            raise
        if self.before_store is not None:
            await self.before_store(key)
        jittered_ms = int(key.ttl * random.uniform(0.9, 1.1) * 1000)  # noqa: S311 - not crypto
        await self._call(key.family, RemoteCache.store_leased, key, token, value, jittered_ms)
        return value

    async def _wait_for_other_loader(self, key: Key) -> bytes | None:
        """Another process holds the lease: poll L2 briefly for what it stores."""
        deadline = time.monotonic() + self.settings.lease_wait_seconds
        pause = 0.005
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
            found = await self._call(key.family, RemoteCache.value_and_lease, key)
            if found is _FAILED:
                return None
            value, leased = found
            if value is not None:
                return value  # type: ignore[no-any-return]
            if not leased:
                return None  # the loader gave up (its load failed): no use waiting for it
        return None

    # -- writes ------------------------------------------------------------------------------

    async def stale(
        self, tx: Executor, keys: Iterable[Key] = (), versions: Iterable[str] = ()
    ) -> Stale:
        """In the write's transaction: record what it makes stale, so the invalidation commits
        with the write and is relayed even if this process never gets to send it."""
        stale = Stale(tuple(k.name for k in keys), tuple(versions))
        # Recorded whether or not this process reads through the cache (BRISK_CACHE__ENABLED
        # is per process): other processes may hold what this write made stale.
        if self.outbox is None or not (stale.names or stale.versions):
            return stale
        row = await self.outbox.record(tx, list(stale.names), list(stale.versions))
        return Stale(stale.names, stale.versions, row)

    async def invalidate(self, stale: Stale) -> None:
        """After the commit: make every later read miss these keys and see new version tokens,
        in every process (this one's reads may be off; others' are not)."""
        names = list(stale.names)
        version_names = list(stale.versions)
        all_sent = True
        # In chunks, so a profile edit by a prolific author is no single giant message.
        for start in range(0, max(len(names), 1), INVALIDATION_CHUNK):
            chunk = names[start : start + INVALIDATION_CHUNK]
            chunk_versions = version_names if start == 0 else []
            # L2 first, then L1: a reader in this process that misses L1 after this point can
            # no longer find the old value in L2 either.
            sent = await self._call("invalidate", RemoteCache.invalidate, chunk, chunk_versions)
            if sent is _FAILED:
                all_sent = False  # the outbox row stays; a relay sends it when Redis is back
                # Redis may still hold the old entries and tokens: until the probe has relayed
                # the outbox, this process must not read them (a read after the write sees it).
                self._open_breaker("an invalidation was not sent", self.breaker.trip())
            self._evict_local(chunk, chunk_versions)
        if all_sent and stale.row is not None and self.outbox is not None:
            self.outbox.applied(stale.row)

    def refill(self, reads: Callable[[], Awaitable[object]]) -> None:
        """After a write was invalidated: read what it changed again in the background, so the
        next reader hits instead of loading it. `reads` fills through the same paths a reader
        does (single-flight, lease, generations), so a write that races it only keeps it from
        storing; it runs in a fresh context, so it is no request's work (timing, routing).
        Bounded: while too many refills are running, new ones are dropped (a reader loads)."""
        if not self.enabled or len(self._refills) >= MAX_REFILLS:
            return

        async def run() -> None:
            _REFILLING.set(True)  # in the refill's own context (below): its reads only
            try:
                await reads()
            except Exception as exc:  # a reader will load it instead, and see the error itself
                log.debug("cache: refill failed (%s)", exc)

        task = asyncio.create_task(run(), context=contextvars.Context())
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def settle(self) -> None:
        """Wait for the refills and background loads in flight (tests, and a deterministic
        order where it matters)."""
        while self._refills or self._batches:
            await asyncio.gather(*self._refills, *self._batches.values(), return_exceptions=True)

    async def _relay_send(self, names: list[str], version_names: list[str]) -> None:
        """The relay's send: through the breaker, raising when Redis did not take it."""
        if await self._call("relay", RemoteCache.invalidate, names, version_names) is _FAILED:
            raise RedisError("the cache outbox could not be relayed")
        self._evict_local(names, version_names)

    def _evict_local(self, names: list[str], versions: Iterable[str] = ()) -> None:
        """Drop from L1 (the tokens of `versions` too: L1 holds them like entries), and detach
        loads in flight: they may have read the old row, so a read that starts now must not join
        them (they finish for the readers they already have)."""
        names = [*names, *(self.keys.version(v) for v in versions)]
        self.local.invalidate(names)
        for name in names:
            self._flights.pop(name, None)
            self._batches.pop(name, None)

    async def clear(self) -> int:
        """Drop every entry of this namespace, in Redis and in every process's L1.

        For tests and operators (after restoring a database backup, say); returns how many
        Redis keys were deleted. Version tokens go too, so every versioned key changes.
        """
        self.local.clear()
        if self._l2 is None:
            return 0
        deleted = await self._l2.clear()
        self.local.clear()
        return deleted

    # -- Redis calls, the breaker and its probe ---------------------------------------------

    async def _call(self, family: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """`fn(l2, *args)` through the breaker: its result, or _FAILED (counted, never raised)."""
        if self._l2 is None:
            return _FAILED
        if self.breaker.is_open:
            self._observe("l2", family, "bypass", 0.0)
            return _FAILED
        started = time.perf_counter()
        try:
            result = await fn(self._l2, *args)
        except _REDIS_ERRORS as exc:  # any Exception: see redis_client.REDIS_ERRORS
            self._observe("l2", family, "error", _since(started))
            why = f"Redis failing ({type(exc).__name__}: {exc})"
            self._open_breaker(why, self.breaker.failure())
            return _FAILED
        self.breaker.success()
        return result

    def _open_breaker(self, why: str, opened: bool) -> None:
        """`opened`: the breaker has just opened; then read PostgreSQL until the probe closes it."""
        if opened:
            log.warning("cache: %s; breaker open, reading PostgreSQL", why)
            self._probe = asyncio.create_task(self._probe_until_back(), name="brisk-cache-probe")

    async def _probe_until_back(self) -> None:
        assert self._redis is not None
        while True:
            await asyncio.sleep(self.settings.breaker_reset_seconds)
            try:
                await self._redis.ping()
            except _REDIS_ERRORS:
                continue
            try:
                await self._drain_outbox()
            except Exception as exc:  # Redis failed again, or the database is away: retry
                log.warning("cache: outbox not relayed yet (%s); breaker stays open", exc)
                continue
            self.breaker.close()
            log.warning("cache: Redis answers again; breaker closed")
            return

    async def _drain_outbox(self) -> None:
        """Before reads trust Redis again: every invalidation still in the outbox, of any age."""
        if self.outbox is None:
            return

        async def send(names: list[str], version_names: list[str]) -> None:
            assert self._l2 is not None
            await self._l2.invalidate(names, version_names)
            self._evict_local(names, version_names)

        await self.outbox.relay(send, min_age=0.0)

    def _observe(self, layer: str, family: str, result: str, seconds: float) -> None:
        for observer in self.observers:
            observer(layer, family, result, seconds)


def _since(started: float) -> float:
    return time.perf_counter() - started
