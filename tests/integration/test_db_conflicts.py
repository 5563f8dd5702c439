"""A transaction PostgreSQL rolls back for another one (a deadlock, a serialization failure)
kept nothing, so the client is told to send the request again: 503 with Retry-After. It was a
500 (a follow deadlock seen in CI, 2026-12-04, before the follow's lock was fixed)."""

from __future__ import annotations

import httpx
import pytest

from brisk.errors import ServiceUnavailableError
from brisk.services import Services

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("code", ["40P01", "40001"])
async def test_a_transaction_undone_for_another_is_a_503_to_retry(
    services: Services, code: str
) -> None:
    raise_it = f"DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{code}'; END $$"

    async def write_then_conflict() -> None:
        async with services.db.transaction() as tx:
            await tx.raw.execute("CREATE TABLE kept_nothing (x int)")
            await tx.raw.execute(raise_it)

    with pytest.raises(ServiceUnavailableError) as caught:
        await write_then_conflict()
    assert caught.value.retry_after_seconds >= 1
    async with services.db.connection() as conn:  # rolled back: the table never existed
        assert await conn.raw.fetchval("SELECT to_regclass('public.kept_nothing')") is None


async def test_the_client_gets_503_with_retry_after(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brisk.tags import service as tags_service

    async def deadlocked(*_args: object, **_kwargs: object) -> None:
        async with services.db.transaction() as tx:
            await tx.raw.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$")

    monkeypatch.setattr(tags_service.TagService, "list_tags", deadlocked)
    response = await client.get("/api/tags")
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert "send it again" in response.json()["errors"]["body"][0]
