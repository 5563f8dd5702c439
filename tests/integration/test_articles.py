"""Articles: lists and filters, feed, CRUD, ownership, favorites and their counter."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from brisk.articles import repository as articles
from brisk.articles import service as article_service
from brisk.db.pool import Connection
from tests.integration.conftest import (
    AUTHOR_TAG_MISMATCHES,
    FAVORITE_AUTHOR_MISMATCHES,
    FAVORITE_TAG_MISMATCHES,
    FEED_MISMATCHES,
    ORPHANS,
    Api,
    assert_error,
    table_counts,
)


async def test_create_then_read_and_list(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    created = await api.create_article(jake, "How to train your dragon", ["dragons", "training"])
    assert created["slug"].startswith("how-to-train-your-dragon-")
    assert created["tagList"] == ["dragons", "training"]
    assert created["favoritesCount"] == 0
    assert created["author"] == {"username": "jake", "bio": "", "image": "", "following": False}

    one = (await client.get(f"/api/articles/{created['slug']}")).json()["article"]
    assert one == created

    listed = (await client.get("/api/articles")).json()
    assert listed["articlesCount"] == 1
    assert "body" not in listed["articles"][0]
    assert listed["articles"][0]["slug"] == created["slug"]


async def test_filters_and_total_count(client: httpx.AsyncClient, api: Api) -> None:
    jake, anna = await api.register("jake"), await api.register("anna")
    for n in range(3):
        await api.create_article(jake, f"jake {n}", ["a"] if n else ["a", "b"])
    theirs = await api.create_article(anna, "anna 0", ["b"])
    await client.post(f"/api/articles/{theirs['slug']}/favorite", headers=jake.auth)
    for article in (await client.get("/api/articles?author=jake")).json()["articles"][1:]:
        await client.post(f"/api/articles/{article['slug']}/favorite", headers=anna.auth)
    await client.post(f"/api/articles/{theirs['slug']}/favorite", headers=anna.auth)

    async def slugs(query: str) -> tuple[int, list[str]]:
        body = (await client.get(f"/api/articles?{query}")).json()
        return body["articlesCount"], [a["title"] for a in body["articles"]]

    assert await slugs("limit=2") == (4, ["anna 0", "jake 2"])  # total, not the page size
    assert await slugs("limit=2&offset=3") == (4, ["jake 0"])
    assert await slugs("limit=2&offset=10") == (4, [])  # past the end: counted apart
    assert await slugs("author=jake") == (3, ["jake 2", "jake 1", "jake 0"])
    assert await slugs("tag=b") == (2, ["anna 0", "jake 0"])
    assert await slugs("favorited=jake") == (1, ["anna 0"])
    assert await slugs("tag=b&author=jake") == (1, ["jake 0"])
    assert await slugs("tag=a&author=jake&limit=1&offset=1") == (3, ["jake 1"])
    assert await slugs("tag=b&author=nobody") == (0, [])
    assert await slugs("tag=b&author=anna&favorited=jake") == (1, ["anna 0"])
    assert await slugs("author=jake&favorited=jake") == (0, [])
    # An author's articles a favoriter liked: jake's two oldest, not anna's own.
    assert await slugs("author=jake&favorited=anna") == (2, ["jake 1", "jake 0"])
    assert await slugs("author=jake&favorited=anna&limit=1&offset=1") == (2, ["jake 0"])
    assert await slugs("author=jake&favorited=anna&offset=5") == (2, [])
    assert await slugs("author=jake&favorited=anna&tag=b") == (1, ["jake 0"])
    assert await slugs("author=jake&favorited=anna&tag=b&offset=5") == (1, [])
    assert await slugs("tag=b&favorited=jake") == (1, ["anna 0"])
    assert await slugs("tag=a&favorited=jake") == (0, [])
    assert await slugs("author=nobody") == (0, [])
    # A favorite's tag links (migration 0018) follow a retag and go with an unfavorite.
    retag = {"article": {"tagList": ["a"]}}
    await client.put(f"/api/articles/{theirs['slug']}", json=retag, headers=anna.auth)
    assert await slugs("tag=b&favorited=jake") == (0, [])
    assert await slugs("tag=a&favorited=jake") == (1, ["anna 0"])
    assert await slugs("tag=a&favorited=anna&limit=2") == (3, ["anna 0", "jake 1"])
    await client.delete(f"/api/articles/{theirs['slug']}/favorite", headers=jake.auth)
    assert await slugs("tag=a&favorited=jake") == (0, [])
    assert await slugs("tag=a&favorited=anna") == (3, ["anna 0", "jake 1", "jake 0"])


async def test_feed_shows_followed_authors_only(client: httpx.AsyncClient, api: Api) -> None:
    jake, anna, bob = [await api.register(n) for n in ("jake", "anna", "bob")]
    await api.create_article(anna, "by anna")
    await api.create_article(bob, "by bob")
    await client.post("/api/profiles/anna/follow", headers=jake.auth)
    feed = (await client.get("/api/articles/feed", headers=jake.auth)).json()
    assert feed["articlesCount"] == 1
    assert feed["articles"][0]["title"] == "by anna"
    assert feed["articles"][0]["author"]["following"] is True
    assert_error(await client.get("/api/articles/feed"), 401)


async def test_update_changes_fields_and_slug(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    created = await api.create_article(jake, "First title", ["x"])
    body = {"article": {"body": "With two hands", "tagList": ["y", "z"]}}
    updated = await client.put(f"/api/articles/{created['slug']}", json=body, headers=jake.auth)
    assert updated.status_code == 200
    article = updated.json()["article"]
    assert (article["body"], article["tagList"], article["slug"]) == (
        "With two hands",
        ["y", "z"],
        created["slug"],
    )
    retitled = await client.put(
        f"/api/articles/{created['slug']}", json={"article": {"title": "New"}}, headers=jake.auth
    )
    assert retitled.json()["article"]["slug"].startswith("new-")
    assert_error(await client.get(f"/api/articles/{created['slug']}"), 404)


async def test_only_the_author_may_update_or_delete(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    jake, anna = await api.register("jake"), await api.register("anna")
    created = await api.create_article(jake, "Mine")
    before = await table_counts(db)
    url = f"/api/articles/{created['slug']}"
    assert_error(await client.put(url, json={"article": {"body": "x"}}, headers=anna.auth), 403)
    assert_error(await client.delete(url, headers=anna.auth), 403)
    assert_error(await client.delete(url), 401)
    assert await table_counts(db) == before
    assert (await client.get(url)).json()["article"]["body"] == "b"

    assert (await client.delete(url, headers=jake.auth)).status_code == 204
    assert_error(await client.get(url), 404)
    assert_error(await client.delete(url, headers=jake.auth), 404)


async def test_favorite_counter_moves_with_the_row(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    jake, anna = await api.register("jake"), await api.register("anna")
    created = await api.create_article(jake, "Popular")
    url = f"/api/articles/{created['slug']}/favorite"
    for _ in range(2):  # favoriting twice counts once
        article = (await client.post(url, headers=anna.auth)).json()["article"]
    assert (article["favorited"], article["favoritesCount"]) == (True, 1)
    as_jake = (await client.get(f"/api/articles/{created['slug']}", headers=jake.auth)).json()
    assert (as_jake["article"]["favorited"], as_jake["article"]["favoritesCount"]) == (False, 1)
    for _ in range(2):
        article = (await client.delete(url, headers=anna.auth)).json()["article"]
    assert (article["favorited"], article["favoritesCount"]) == (False, 0)
    stored = await db.fetchval("SELECT favorites_count FROM articles")
    assert stored == await db.fetchval("SELECT count(*) FROM favorites") == 0
    assert_error(await client.post("/api/articles/nope/favorite", headers=anna.auth), 404)


async def test_tags_lists_tags_in_use(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    created = await api.create_article(jake, "Tagged", ["zeta", "alpha", "alpha"])
    assert created["tagList"] == ["alpha", "zeta"]
    assert (await client.get("/api/tags")).json() == {"tags": ["alpha", "zeta"]}
    await client.delete(f"/api/articles/{created['slug']}", headers=jake.auth)
    assert (await client.get("/api/tags")).json() == {"tags": []}


async def test_stored_totals_match_real_counts_after_writes(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    jake, anna = await api.register("jake"), await api.register("anna")
    await api.follow(anna, "jake")
    slugs = [(await api.create_article(jake, f"a{n}", ["x", f"t{n}"]))["slug"] for n in range(4)]
    for slug in slugs[:3]:
        await client.post(f"/api/articles/{slug}/favorite", headers=anna.auth)
        await client.post(f"/api/articles/{slug}/favorite", headers=jake.auth)
    await client.put(
        f"/api/articles/{slugs[0]}", json={"article": {"tagList": ["y"]}}, headers=jake.auth
    )
    await client.delete(f"/api/articles/{slugs[1]}", headers=jake.auth)
    await client.delete(f"/api/articles/{slugs[2]}/favorite", headers=anna.auth)

    mismatches = await db.fetch(
        """
        SELECT 'user' AS kind, u.username AS name FROM users u
        WHERE u.articles_count <> (SELECT count(*) FROM articles a WHERE a.author_id = u.id)
           OR u.favorited_articles_count
              <> (SELECT count(*) FROM favorites f WHERE f.user_id = u.id)
        UNION ALL
        SELECT 'tag', t.name FROM tags t
        WHERE t.articles_count <> (SELECT count(*) FROM article_tags x WHERE x.tag_id = t.id)
        UNION ALL
        SELECT 'article', a.slug FROM articles a
        WHERE a.favorites_count <> (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)
        UNION ALL
        SELECT 'total', c.name FROM counters c
        WHERE c.value <> (SELECT count(*) FROM articles)
        UNION ALL
        """
        + AUTHOR_TAG_MISMATCHES
        + "UNION ALL"
        + FEED_MISMATCHES
        + "UNION ALL"
        + FAVORITE_AUTHOR_MISMATCHES
        + "UNION ALL"
        + FAVORITE_TAG_MISMATCHES
        + "UNION ALL"
        + ORPHANS
    )
    assert mismatches == []
    listed = (await client.get("/api/articles?author=jake")).json()
    assert listed["articlesCount"] == len(listed["articles"]) == 3
    assert (await client.get("/api/articles?tag=x")).json()["articlesCount"] == 2
    assert (await client.get("/api/articles?favorited=anna")).json()["articlesCount"] == 1
    assert (await client.get("/api/tags")).json()["tags"][0] == "x"


async def test_feed_pages_interleave_authors_in_time_order(
    client: httpx.AsyncClient, api: Api
) -> None:
    reader = await api.register("reader")
    authors = [await api.register(name) for name in ("ann", "ben", "cat")]
    titles = []
    for n in range(7):  # interleaved: ann 0, ben 1, cat 2, ann 3, ...
        await api.create_article(authors[n % 3], f"post {n}")
        titles.insert(0, f"post {n}")
    for author in authors:
        await client.post(f"/api/profiles/{author.username}/follow", headers=reader.auth)

    pages = []
    for offset in (0, 2, 4, 6):
        body = (
            await client.get(f"/api/articles/feed?limit=2&offset={offset}", headers=reader.auth)
        ).json()
        assert body["articlesCount"] == 7
        pages += [a["title"] for a in body["articles"]]
    assert pages == titles  # each author reads only limit + offset of theirs; nothing is lost


@pytest.mark.parametrize("write", ["favorite", "comments"])
async def test_a_write_that_waits_for_the_articles_delete_leaves_nothing_behind(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, write: str
) -> None:
    """Favorites, their tag links, comments and notifications hold their article by its row
    lock, not a foreign key (migrations 0018, 0019): one that starts while the article's delete
    holds the row waits for it, then finds no article, rather than writing rows about it."""
    jake, anna = await api.register("jake"), await api.register("anna")
    created = await api.create_article(jake, "Going", ["x"])
    url = f"/api/articles/{created['slug']}/{write}"
    body = {"comment": {"body": "late"}} if write == "comments" else None
    async with db.transaction():  # what delete_article does first, then its own row
        await db.execute("SELECT id FROM articles WHERE slug = $1 FOR UPDATE", created["slug"])
        waiting = asyncio.ensure_future(client.post(url, json=body, headers=anna.auth))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await db.execute("DELETE FROM articles WHERE slug = $1", created["slug"])
    assert_error(await waiting, 404)
    assert await db.fetch(ORPHANS + "UNION ALL" + FAVORITE_TAG_MISMATCHES) == []
    for table in ("favorites", "favorite_tags", "comments", "notifications"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_a_favorite_that_waits_for_a_retag_links_the_new_tags(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    """The favorite locks the article before it reads its tags (get-article-id-by-slug): in
    one statement it would read them from a snapshot taken before the retag committed."""
    jake, anna = await api.register("jake"), await api.register("anna")
    created = await api.create_article(jake, "Retagged", ["old"])
    async with db.transaction():  # what update_article does, with the new tags
        article_id = await db.fetchval(
            "SELECT id FROM articles WHERE slug = $1 FOR UPDATE", created["slug"]
        )
        await articles.set_tags(
            Connection(db, []), article_id=article_id, tags=["new"], replace=True
        )
        url = f"/api/articles/{created['slug']}/favorite"
        waiting = asyncio.ensure_future(client.post(url, headers=anna.auth))
        await asyncio.sleep(0.5)
        assert not waiting.done()
    assert (await waiting).status_code == 200
    assert await db.fetch(FAVORITE_TAG_MISMATCHES) == []
    body = (await client.get("/api/articles?favorited=anna&tag=new")).json()
    assert body["articlesCount"] == 1


async def test_a_new_slug_whose_suffix_is_taken_gets_another(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two articles titled alike meet on their random suffix now and then (a 422 under load
    in the cluster test): the second tries another suffix instead of failing."""
    writer = await api.register("writer")
    taken = (await api.create_article(writer, "Hello"))["slug"]
    offered = iter([taken, taken, "hello-000001"])
    monkeypatch.setattr(article_service, "make_slug", lambda title: next(offered))
    assert (await api.create_article(writer, "Hello"))["slug"] == "hello-000001"
    # The tries that found the slug taken wrote nothing and moved no total.
    assert await db.fetchval("SELECT articles_count FROM users WHERE username = 'writer'") == 2
    assert await db.fetchval("SELECT value FROM counters WHERE name = 'articles'") == 2
    assert await db.fetchval("SELECT count(*) FROM articles") == 2
    listed = (await client.get("/api/articles")).json()
    assert listed["articlesCount"] == 2

    monkeypatch.setattr(article_service, "make_slug", lambda title: taken)
    body = {"article": {"title": "Hello", "description": "d", "body": "b"}}
    response = await client.post("/api/articles", json=body, headers=writer.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {"body": ["slug has already been taken"]}}
    assert await db.fetchval("SELECT count(*) FROM articles") == 2
