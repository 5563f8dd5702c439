"""A page of N articles costs a constant number of queries, and the pool answers 503 when full."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from brisk.services import Services
from tests.integration.conftest import Api, assert_error, database_calls

# What the database does for each request; tests/integration/test_cache_costs.py covers what a
# cached read costs.
pytestmark = pytest.mark.usefixtures("no_cache")


async def _queries_for(
    client: httpx.AsyncClient, services: Services, url: str, **kw: object
) -> Counter[str]:
    with database_calls(services) as counts:
        response = await client.get(url, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return counts


@pytest.mark.parametrize(
    "url",
    [
        "/api/articles?limit={n}",
        "/api/articles?tag=t&limit={n}",
        "/api/articles/feed?limit={n}",
        "/api/articles?author=writer&limit={n}",
        "/api/articles?favorited=reader&limit={n}",
    ],
)
async def test_article_page_costs_the_same_for_1_and_20(
    client: httpx.AsyncClient, api: Api, services: Services, url: str
) -> None:
    writer, reader = await api.register("writer"), await api.register("reader")
    await client.post("/api/profiles/writer/follow", headers=reader.auth)
    for n in range(20):
        article = await api.create_article(writer, f"title {n}", ["t", f"t{n}"])
        await client.post(f"/api/articles/{article['slug']}/favorite", headers=reader.auth)
        await client.post(
            f"/api/articles/{article['slug']}/comments",
            json={"comment": {"body": "c"}},
            headers=reader.auth,
        )

    one = await _queries_for(client, services, url.format(n=1), headers=reader.auth)
    twenty = await _queries_for(client, services, url.format(n=20), headers=reader.auth)
    assert one == twenty
    # The page carries its total; nothing per article. With the cache off, the token's
    # generation (revocation on password change) is one read of its own per signed-in request.
    assert sum(twenty.values()) == 2
    assert twenty["get-token-generation"] == 1


async def test_comments_page_is_one_query(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "busy"))["slug"]
    for _ in range(5):
        await client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "c"}}, headers=writer.auth
        )
    counts = await _queries_for(
        client, services, f"/api/articles/{slug}/comments", headers=writer.auth
    )
    assert counts == Counter({"list-comments": 1, "get-token-generation": 1})


async def test_full_pool_turns_into_fast_503(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = services.db.pool
    monkeypatch.setattr(services.db.settings, "acquire_timeout_seconds", 0.2)
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        # Not a timing assertion: a guard that fails the test if the request hangs.
        async with asyncio.timeout(30):
            response = await client.get("/api/articles")
    finally:
        for conn in held:
            await pool.release(conn)
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert (await client.get("/api/articles")).status_code == 200  # and it recovers at once
