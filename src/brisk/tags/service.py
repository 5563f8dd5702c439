"""The tag list."""

from __future__ import annotations

from brisk.db import Database
from brisk.tags import repository as repo

MAX_TAGS_LISTED = 500


class TagService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_tags(self) -> list[str]:
        return await repo.list_tags(self.db, limit=MAX_TAGS_LISTED)
