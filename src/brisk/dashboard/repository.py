"""SQL for the dashboard's single-round-trip strategy (the others reuse the domains' reads)."""

from __future__ import annotations

from pathlib import Path

from brisk.db import Executor, load_queries

Q = load_queries(Path(__file__).with_name("queries.sql"))


async def get_dashboard(db: Executor, *, viewer_id: int) -> str | None:
    """The response body as JSON text; None when the viewer's user row is gone."""
    body: str | None = await db.fetchval(Q["get-dashboard"], viewer_id)
    return body
