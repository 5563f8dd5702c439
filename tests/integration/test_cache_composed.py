"""The cache for the real mix (ADR 0020): a write drops what it changed and nothing more, and a
signed-in read is answered from the cache -- flags and all -- with no database round trip."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from brisk.articles.repository import ArticleFilter
from brisk.cache.store import REFRESH_AHEAD_SECONDS
from brisk.services import Services
from tests.integration.conftest import Api, database_calls


@contextmanager
def cache_lookups(services: Services) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()

    def observe(layer: str, family: str, result: str, _seconds: float) -> None:
        counts[f"{layer}:{family}:{result}"] += 1

    services.cache.observers.append(observe)
    try:
        yield counts
    finally:
        services.cache.observers.remove(observe)


def _urls(slug: str) -> list[str]:
    return [
        f"/api/articles/{slug}",
        "/api/profiles/writer",
        "/api/articles?limit=20",
        "/api/articles?tag=x&limit=20",
        "/api/articles/feed?limit=20",
        f"/api/articles/{slug}/comments",
        "/api/tags",
        "/api/dashboard",
    ]


async def test_signed_in_hits_need_no_database(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    writer, reader = await api.register("writer"), await api.register("reader")
    slug = (await api.create_article(writer, "one", ["x"]))["slug"]
    await api.follow(reader, "writer")
    await api.favorite(reader, slug)
    await api.comment(writer, slug)
    first = {url: await client.get(url, headers=reader.auth) for url in _urls(slug)}
    with database_calls(services) as calls:
        again = {url: await client.get(url, headers=reader.auth) for url in _urls(slug)}
    assert sum(calls.values()) == 0, calls
    for url in first:
        assert again[url].status_code == 200, url
        assert again[url].content == first[url].content, url
    # The reader's own flags, from their cached sets.
    assert again[f"/api/articles/{slug}"].json()["article"]["favorited"] is True
    assert again["/api/articles?limit=20"].json()["articles"][0]["author"]["following"] is True
    assert again["/api/profiles/writer"].json()["profile"]["following"] is True
    comments = again[f"/api/articles/{slug}/comments"].json()["comments"]
    assert comments[0]["author"]["following"] is True
    assert again["/api/articles/feed?limit=20"].json()["articlesCount"] == 1
    # Anonymous readers and the writer see no flag of the reader's.
    anonymous = (await client.get("/api/articles?limit=20")).json()["articles"][0]
    assert (anonymous["favorited"], anonymous["author"]["following"]) == (False, False)
    own = (await client.get(f"/api/articles/{slug}", headers=writer.auth)).json()["article"]
    assert own["favorited"] is False


async def test_a_favorite_drops_one_card_not_the_lists(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    writer, fan, other = [await api.register(n) for n in ("writer", "fan", "other")]
    slugs = [(await api.create_article(writer, f"a{n}", ["x"]))["slug"] for n in range(3)]
    for url in ("/api/articles?limit=20", "/api/articles?tag=x&limit=20"):
        await client.get(url, headers=other.auth)
    with cache_lookups(services) as lookups, database_calls(services) as calls:
        await api.favorite(fan, slugs[1])
        await services.cache.settle()  # the write's refill of what it dropped
    # The id lists were not dropped: only the favorited card, its article and the fan's set
    # were read anew, by the write's refill.
    assert lookups["l1:article_ids:miss"] == 0, lookups
    assert lookups["l1:card:miss"] == 1, lookups
    assert {"get-article-cards", "get-favorited-ids"} <= set(calls), calls
    # The refill knows the write just deleted the article and the fan's set from L2: it asks
    # for their leases at once instead of reading L2 first.
    assert [k for k in lookups if k.startswith(("l2:article:", "l2:favorites:"))] == []
    with database_calls(services) as calls:
        pages = [
            (await client.get(url, headers=h)).json()
            for url in ("/api/articles?limit=20", "/api/articles?tag=x&limit=20")
            for h in (other.auth, fan.auth)
        ]
    assert set(calls) == {"get-followed-ids"}, calls  # the fan's follows, never read before
    for page, favorited in zip(pages, (False, True, False, True), strict=True):
        by_slug = {a["slug"]: a for a in page["articles"]}
        assert by_slug[slugs[1]]["favoritesCount"] == 1
        assert by_slug[slugs[1]]["favorited"] is favorited
        assert by_slug[slugs[0]]["favoritesCount"] == 0


async def test_membership_changes_drop_the_lists_at_once(
    client: httpx.AsyncClient, api: Api
) -> None:
    writer, reader = await api.register("writer"), await api.register("reader")
    first = (await api.create_article(writer, "first", ["x"]))["slug"]
    feed = "/api/articles/feed?limit=20"
    assert (await client.get(feed, headers=reader.auth)).json()["articlesCount"] == 0
    await api.follow(reader, "writer")
    assert (await client.get(feed, headers=reader.auth)).json()["articlesCount"] == 1
    second = (await api.create_article(writer, "second", ["y"]))["slug"]
    listed = (await client.get(feed, headers=reader.auth)).json()["articles"]
    assert [a["slug"] for a in listed] == [second, first]
    # Retagged: it leaves one tag's list and joins another's.
    await client.put(
        f"/api/articles/{first}", json={"article": {"tagList": ["y"]}}, headers=writer.auth
    )
    tagged = (await client.get("/api/articles?tag=y")).json()
    assert [a["slug"] for a in tagged["articles"]] == [second, first]
    assert (await client.get("/api/articles?tag=x")).json()["articlesCount"] == 0
    await client.delete(f"/api/articles/{second}", headers=writer.auth)
    assert (await client.get(feed, headers=reader.auth)).json()["articlesCount"] == 1
    resp = await client.delete("/api/profiles/writer/follow", headers=reader.auth)
    assert resp.json()["profile"]["following"] is False
    assert (await client.get(feed, headers=reader.auth)).json()["articlesCount"] == 0
    profile = (await client.get("/api/profiles/writer", headers=reader.auth)).json()["profile"]
    assert profile["following"] is False


async def test_a_profile_edit_reaches_every_card_that_shows_it(
    client: httpx.AsyncClient, api: Api
) -> None:
    writer, reader = await api.register("writer"), await api.register("reader")
    await api.create_article(writer, "one", ["x"])
    await api.follow(reader, "writer")
    urls = ["/api/articles?limit=20", "/api/articles?tag=x", "/api/articles/feed"]
    for url in urls:
        await client.get(url, headers=reader.auth)
    changed = {"user": {"bio": "new bio"}}
    assert (await client.put("/api/user", json=changed, headers=writer.auth)).is_success
    for url in urls:
        article = (await client.get(url, headers=reader.auth)).json()["articles"][0]
        assert article["author"]["bio"] == "new bio", url
    board = (await client.get("/api/dashboard", headers=reader.auth)).json()["dashboard"]
    assert board["feed"][0]["author"]["bio"] == "new bio"


async def test_a_revoked_or_foreign_token_never_gets_a_signed_in_hit(
    client: httpx.AsyncClient, api: Api
) -> None:
    writer = await api.register("writer")
    slug = (await api.create_article(writer, "one", ["x"]))["slug"]
    for url in _urls(slug):
        assert (await client.get(url, headers=writer.auth)).status_code == 200, url
    old = writer.auth
    changed = {"user": {"password": "another-password-1"}}
    assert (await client.put("/api/user", json=changed, headers=old)).is_success
    for url in _urls(slug):
        assert (await client.get(url, headers=old)).status_code == 401, url


async def test_a_hot_card_about_to_leave_l1_is_read_again_off_the_request(
    client: httpx.AsyncClient, api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = await api.register("writer")
    for n in range(3):
        await api.create_article(writer, f"a{n}", ["x"])
    # Entries live less than the refresh-ahead margin, so a hit reads them again.
    ttl = REFRESH_AHEAD_SECONDS * 0.75
    monkeypatch.setattr(services.cache.local, "ttl", ttl)
    loop = asyncio.get_running_loop()
    filled = loop.time()
    assert (await client.get("/api/articles?tag=x")).status_code == 200
    key = await services.articles.list_key(ArticleFilter(tag="x"), 20, 0)
    assert key is not None
    page = services.articles.pages.peek_page(key)
    assert page is not None
    await asyncio.sleep(ttl / 2)
    with database_calls(services) as calls:
        assert services.articles.pages.peek_cards(page, None) is not None  # the fast path's hit
        await services.cache.settle()
    assert calls["get-article-cards"] == 1, calls  # its cards read again, in the background
    # Past the first cards' lifetime, before the refreshed ones': still all in L1.
    await asyncio.sleep(max(0.0, filled + ttl * 1.2 - loop.time()))
    assert services.articles.pages.peek_cards(page, None) is not None
