"""HTTP caching: ETags from the bytes sent, 304 on a match (fast path and full path alike), and
Cache-Control that keeps a viewer's or a token's answer out of shared caches."""

from __future__ import annotations

import httpx
import pytest

from brisk.api.http_cache import PRIVATE, SHARED, etag, not_modified
from tests.integration.conftest import Api


def _validators(response: httpx.Response) -> tuple[str, str, str]:
    return response.headers["etag"], response.headers["cache-control"], response.headers["vary"]


async def test_anonymous_reads_are_shared_and_revalidate_to_304(
    client: httpx.AsyncClient, api: Api
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "tagged", ["x"]))["slug"]
    for url in (f"/api/articles/{slug}", "/api/profiles/writer", "/api/tags"):
        # The first read goes through the routes, the second is the fast path's L1 hit.
        first, second = await client.get(url), await client.get(url)
        assert first.status_code == second.status_code == 200
        assert _validators(first) == _validators(second), url
        tag, control, vary = _validators(first)
        assert tag == etag(first.content).decode()
        assert control == SHARED.decode()
        assert vary == "Authorization"

        again = await client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.content == b""
        assert again.headers["etag"] == tag
        assert again.headers["cache-control"] == SHARED.decode()


async def test_an_etag_never_outlives_a_write(client: httpx.AsyncClient, api: Api) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "before"))["slug"]
    url = f"/api/articles/{slug}"
    await client.get(url)
    old = (await client.get(url)).headers["etag"]  # cached in L1 now
    updated = await client.put(url, json={"article": {"description": "after"}}, headers=writer.auth)
    assert updated.status_code == 200

    fresh = await client.get(url, headers={"If-None-Match": old})
    assert fresh.status_code == 200
    assert fresh.json()["article"]["description"] == "after"
    assert fresh.headers["etag"] != old
    # And the new tag revalidates, through whichever path answers now.
    assert (
        await client.get(url, headers={"If-None-Match": fresh.headers["etag"]})
    ).status_code == 304


@pytest.mark.usefixtures("no_cache")
async def test_full_path_answers_304_without_the_cache(client: httpx.AsyncClient, api: Api) -> None:
    writer = await api.register("writer")
    await api.create_article(writer, "listed")
    first = await client.get("/api/articles?limit=5")
    tag, control, _ = _validators(first)
    assert control == SHARED.decode()
    again = await client.get("/api/articles?limit=5", headers={"If-None-Match": f'W/{tag}, "x"'})
    assert again.status_code == 304
    assert again.content == b""


async def test_a_viewers_answers_are_private(client: httpx.AsyncClient, api: Api) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "mine"))["slug"]
    for url in (f"/api/articles/{slug}", "/api/user", "/api/dashboard", "/api/dashboard"):
        response = await client.get(url, headers=writer.auth)
        assert response.status_code == 200, url
        tag, control, vary = _validators(response)
        assert control == PRIVATE.decode(), url
        assert vary == "Authorization"
        again = await client.get(url, headers={**writer.auth, "If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.headers["cache-control"] == PRIVATE.decode()


async def test_tokens_and_errors_are_never_stored(client: httpx.AsyncClient, api: Api) -> None:
    await api.register("writer")
    login = await client.post(
        "/api/users/login",
        json={"user": {"email": "writer@example.com", "password": "password123"}},
    )
    assert login.status_code == 200
    assert "token" in login.json()["user"]
    assert login.headers["cache-control"] == PRIVATE.decode()
    assert "etag" not in login.headers  # a POST is not revalidated

    missing = await client.get("/api/articles/no-such-article")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == PRIVATE.decode()
    assert "etag" not in missing.headers
    # A condition on a missing resource is no reason for a 304.
    assert (
        await client.get("/api/articles/no-such-article", headers={"If-None-Match": "*"})
    ).status_code == 404


def test_if_none_match_follows_the_weak_comparison() -> None:
    tag = etag(b"{}")
    assert not_modified(tag, tag)
    assert not_modified(b"W/" + tag, tag)
    assert not_modified(b'"other", ' + tag, tag)
    assert not_modified(b"*", tag)
    assert not not_modified(b'"other"', tag)
    assert not not_modified(None, tag)
    assert etag(b"{}") != etag(b"{ }")
