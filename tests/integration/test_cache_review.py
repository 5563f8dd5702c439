"""Review findings on the composed cache and the signed-in fast path (ADR 0020): each test
failed before its fix."""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

import asyncpg
import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from brisk import names
from brisk.articles import repository as articles_repo
from brisk.cache.remote import RemoteCache
from brisk.errors import ServiceUnavailableError
from brisk.services import Services
from tests.integration.conftest import Api


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("ivan", "\u0130van"),  # İ: Python lowers it to i + combining dot, PostgreSQL to i
        ("\u03bf\u03b4\u03bf\u03c3", "\u039f\u0394\u039f\u03a3"),  # ΟΔΟΣ: Python's final sigma
    ],
)
async def test_a_profile_edit_drops_every_spelling_the_database_resolves(
    client: httpx.AsyncClient, api: Api, name: str, spelling: str
) -> None:
    """The profile key must fold a name as the database's username_key() does: every spelling
    the route resolves to the user shares the key the user's edit drops."""
    user = await api.register(name)
    first = await client.get(f"/api/profiles/{spelling}")
    assert first.status_code == 200, first.text  # the database finds the user by this spelling
    assert first.json()["profile"]["bio"] == ""
    edited = await client.put("/api/user", json={"user": {"bio": "new"}}, headers=user.auth)
    assert edited.status_code == 200, edited.text
    for url in (f"/api/profiles/{spelling}", f"/api/profiles/{name}"):
        assert (await client.get(url)).json()["profile"]["bio"] == "new", url


async def test_the_cache_folds_every_name_as_the_database_does(db: asyncpg.Connection) -> None:
    """names.key() against username_key() itself: every letter, mark and digit alone, and words
    where lowering depends on context."""
    words = [
        chr(code)
        for code in range(0x20, 0x30000)
        if unicodedata.category(chr(code))[0] in "LMN" and not 0xD800 <= code < 0xE000
    ]
    words += ["\u039f\u0394\u039f\u03a3", "\u03a3\u0391\u03a3", "\u0130STANBUL"]
    words += ["Alice", "CarlQuist4604", "a.B-c_D", "MiXeD-\u00c9t\u00c9"]
    rows = await db.fetch("SELECT w, username_key(w) AS k FROM unnest($1::text[]) w", words)
    assert len(rows) == len(words)
    differ = [(r["w"], names.key(r["w"]), r["k"]) for r in rows if names.key(r["w"]) != r["k"]]
    assert differ == []


async def test_the_fast_path_refuses_a_username_the_route_refuses(
    client: httpx.AsyncClient, api: Api
) -> None:
    """A path that folds to a cached name but is longer than the route allows is the route's
    to refuse (422), not the fast path's to answer 200."""
    name = "\u00e9" * 33
    await api.register(name)
    assert (await client.get(f"/api/profiles/{name}")).status_code == 200  # now in L1
    decomposed = unicodedata.normalize("NFD", name)  # 66 code points, the same name folded
    assert len(decomposed) > 64
    response = await client.get(f"/api/profiles/{decomposed}")
    assert response.status_code == 422, response.text


def _value(response: httpx.Response) -> object:
    return response.json() if response.content.startswith(b"{") else response.content


def _hostile_urls(slug: str, name: str) -> list[str]:
    pages = ["limit=20&limit=5", "limit=5&offset=", "limit=%2B5", "limit=05", "limit=0"]
    pages += ["offset=99&limit=2", "limit=101", "offset=1000001", "limit=5;offset=1", "limit"]
    tags = ["", "%00", "X", "%EF%BC%B8", "x+", "%2Bx", "x%20", "a" * 64, "a" * 65, "%FF"]
    return [
        *(f"/api/articles?{q}" for q in pages),
        *(f"/api/articles?tag={t}" for t in tags),
        *(f"/api/articles/feed?{q}" for q in [*pages, "offset=501", "tag=x"]),
        f"/api/articles/{slug}",
        f"/api/articles/{slug}/",
        f"/api/articles/{slug.upper()}",
        f"/api/articles/{slug}%00",
        f"/api/articles/{slug}?x=1",
        f"/api/articles/{slug}/comments?limit=100",
        f"/api/articles/{slug}/comments?offset=0",
        f"/api/profiles/{name}",
        f"/api/profiles/{name.upper()}",
        "/api/profiles/%EF%BC%B7riter",  # fullwidth W
        f"/api/profiles/{name}%00",
        f"/api/profiles/{name}/",
        "/api/tags?x=1",
        "/api/dashboard?x=1",
        "/api/articles/feed",
        "/api/articles//feed",
    ]


async def test_hostile_reads_get_from_the_fast_path_what_the_route_gives(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    """Every odd path or query, anonymous and signed in, answered three times with the cache on
    (the route fills, the fast path answers) and once with it off: same status, same body, no
    5xx, and a signed-in 200 is never shared."""
    writer, reader = await api.register("writer"), await api.register("reader")
    slug = (await api.create_article(writer, "one", ["x"]))["slug"]
    await api.follow(reader, "writer")
    await api.favorite(reader, slug)
    await api.comment(writer, slug, '"following":false "favorited":false')
    for url in _hostile_urls(slug, "writer"):
        for auth in ({}, reader.auth):
            seen = [await client.get(url, headers=auth) for _ in range(3)]
            services.cache.enabled = False
            try:
                truth = await client.get(url, headers=auth)
            finally:
                services.cache.enabled = True
            assert truth.status_code < 500, (url, truth.text)
            for response in seen:
                # The dashboard's SQL strategy spaces its JSON differently: compare values.
                assert (response.status_code, _value(response)) == (
                    truth.status_code,
                    _value(truth),
                ), (url, bool(auth))
                assert response.content == seen[0].content, (url, bool(auth))
                if auth and response.status_code == 200:
                    assert response.headers["cache-control"] == "private, no-store", url


async def test_the_writer_reads_its_write_when_one_invalidation_was_not_sent(
    client: httpx.AsyncClient, api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One invalidation Redis refused (a timeout, say) while the breaker stays closed: the
    writer dropped its L1 but Redis still held the old article and token, so its next read
    found them there. Read after an acknowledged write on its own process must see it."""
    writer, fan = await api.register("writer"), await api.register("fan")
    slug = (await api.create_article(writer, "one", ["x"]))["slug"]
    for url in (f"/api/articles/{slug}", "/api/articles?tag=x"):
        await client.get(url)  # in L1 and L2
    send = RemoteCache.invalidate

    async def refused(self: RemoteCache, names: list[str], versions: list[str]) -> None:
        monkeypatch.setattr(RemoteCache, "invalidate", send)
        raise RedisConnectionError("refused once")

    monkeypatch.setattr(RemoteCache, "invalidate", refused)
    await api.favorite(fan, slug)
    await api.create_article(writer, "two", ["x"])
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 1
    assert (await client.get("/api/articles?tag=x")).json()["articlesCount"] == 2
    for _ in range(500):  # the probe relays the outbox and closes the breaker: leave it closed
        if not services.cache.breaker_open:
            break
        await asyncio.sleep(0.01)
    assert not services.cache.breaker_open


async def test_cancelled_and_failed_card_batches_leave_nothing_behind(
    client: httpx.AsyncClient, api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers cancelled while the card batch they share is in flight, and a batch whose query
    fails (the database went away): the others never get a 500 (the first reader, which
    started the batch on the full route, its 503; those that waited for it on the fast path
    take the full route after it, which loads once more: 200 here, the database being back);
    nothing is left in flight; the next read loads the cards and answers 200."""
    writer = await api.register("writer")
    for n in range(3):
        await api.create_article(writer, f"a{n}", ["x"])
    url = "/api/articles?tag=x"
    assert (await client.get(url)).status_code == 200  # the id list in L1, cards warmed
    cards = [services.cache.keys.card(n).name for n in range(1, 4)]
    entered, release = asyncio.Event(), asyncio.Event()
    load = articles_repo.get_article_cards

    async def held_then_failed(db: Any, *, ids: list[int]) -> Any:
        monkeypatch.setattr(articles_repo, "get_article_cards", load)
        entered.set()
        await release.wait()
        raise ServiceUnavailableError("the database is unavailable, try again shortly")

    monkeypatch.setattr(articles_repo, "get_article_cards", held_then_failed)
    services.cache.local.invalidate(cards)
    readers = [asyncio.create_task(client.get(url)) for _ in range(5)]
    await entered.wait()
    for reader in readers[:2]:
        reader.cancel()
    release.set()
    answers = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(a, asyncio.CancelledError) for a in answers[:2]), answers
    statuses = [a.status_code for a in answers[2:]]  # type: ignore[union-attr]
    assert set(statuses) <= {200, 503}, statuses
    assert not services.cache._batches
    again = await client.get(url)
    assert again.status_code == 200
    assert again.json()["articlesCount"] == 3
    assert len(again.json()["articles"]) == 3
