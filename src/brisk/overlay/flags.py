"""A viewer's own flags, cached per viewer: the articles they favorited and the users they
follow, as sets of ids (ADR 0020). Only that viewer's writes change them, so a signed-in read
needs no database round trip on a hit; each set is dropped by the viewer's (un)favorite or
(un)follow."""

from __future__ import annotations

from pathlib import Path

import orjson

from brisk.cache import Cache, Key
from brisk.db import Database, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))

# Decoded sets kept beside the L1 bytes they came from; bounded, oldest dropped first.
MEMO_ENTRIES = 4096


class ViewerFlags:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache
        # key name -> (the exact bytes object L1 held, its set): reused only while L1 hands out
        # that same object, so a decoded set can never outlive the entry it was decoded from.
        self._memo: dict[str, tuple[bytes, frozenset[int]]] = {}

    async def favorited(self, viewer_id: int) -> frozenset[int]:
        return await self._set(self.cache.keys.favorites(viewer_id), "get-favorited-ids", viewer_id)

    async def following(self, viewer_id: int) -> frozenset[int]:
        return await self._set(self.cache.keys.following(viewer_id), "get-followed-ids", viewer_id)

    def peek_favorited(self, viewer_id: int) -> frozenset[int] | None:
        return self._peek(self.cache.keys.favorites(viewer_id))

    def peek_following(self, viewer_id: int) -> frozenset[int] | None:
        return self._peek(self.cache.keys.following(viewer_id))

    async def _set(self, key: Key, query: str, viewer_id: int) -> frozenset[int]:
        async def load() -> bytes:
            ids = await self.db.fetchval(Q[query], viewer_id)
            return orjson.dumps(sorted(ids))

        return self._decoded(key, await self.cache.get_or_load(key, load))

    def _peek(self, key: Key) -> frozenset[int] | None:
        value = self.cache.peek(key)
        return None if value is None else self._decoded(key, value)

    def _decoded(self, key: Key, value: bytes) -> frozenset[int]:
        held = self._memo.get(key.name)
        if held is not None and held[0] is value:
            return held[1]
        ids = frozenset(orjson.loads(value))
        if self.cache.enabled:
            self._memo.pop(key.name, None)
            self._memo[key.name] = (value, ids)
            if len(self._memo) > MEMO_ENTRIES:
                del self._memo[next(iter(self._memo))]
        return ids
