"""The tag list."""

from __future__ import annotations

import orjson

from brisk.cache import Cache, Key
from brisk.db import Database
from brisk.tags import repository as repo

MAX_TAGS_LISTED = 500


class TagService:
    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    def shared_key(self) -> Key:
        """Where the body of GET /tags is cached (the fast path reads it too)."""
        return self.cache.keys.tags()

    def peek_tags(self) -> bytes | None:
        return self.cache.peek(self.shared_key())

    async def list_tags(self) -> bytes:
        async def load() -> bytes:
            return orjson.dumps({"tags": await repo.list_tags(self.db, limit=MAX_TAGS_LISTED)})

        return await self.cache.get_or_load(self.shared_key(), load)
