"""The one timestamp format: iso_utc() in SQL (migration 0005) formats every timestamp the API
sends, whether a service reads it in rows or the dashboard builds its JSON in PostgreSQL.
(These assertions were the unit test of the Python formatter that this replaced.)"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

pytestmark = pytest.mark.integration


async def test_iso_utc_always_has_milliseconds_and_z(db: asyncpg.Connection) -> None:
    async def iso(moment: datetime) -> str:
        text: str = await db.fetchval("SELECT iso_utc($1)", moment)
        return text

    assert await iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert (
        await iso(datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    )
