"""Authorization (OWASP API Security Top 10 2023): another user's objects (API1), server-owned and
private properties (API3) and write functions (API5). Every refused attempt is checked against a
byte-level snapshot of every table; test_bad_input.py covers the malformed variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from brisk.services import Services
from tests.integration.conftest import Api, ApiUser, quick_user, rejected, snapshot


@dataclass
class Scene:
    """jake owns an article (tags a, b) with anna's comment on it and jake's own comment;
    jake has notifications from anna (follow, favorite, comment). mallory owns nothing."""

    jake: ApiUser
    anna: ApiUser
    mallory: ApiUser
    slug: str
    anna_comment: int
    jake_comment: int
    mallory_slug: str


@pytest.fixture
async def scene(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, services: Services
) -> Scene:
    jake, anna, mallory = [await quick_user(db, services, n) for n in ("jake", "anna", "mallory")]
    slug = (await api.create_article(jake, "Dragons", ["a", "b"]))["slug"]
    await api.follow(anna, "jake")
    await api.favorite(anna, slug)
    anna_comment = (await api.comment(anna, slug, "nice"))["id"]
    jake_comment = (await api.comment(jake, slug, "thanks"))["id"]
    mallory_slug = (await api.create_article(mallory, "Mallory's own"))["slug"]
    return Scene(jake, anna, mallory, slug, anna_comment, jake_comment, mallory_slug)


# ---------------------------------------------------------------------------------------------
# API1: broken object level authorization -- someone else's article, comment or notifications

ARTICLE_CHANGES = {
    "title": {"title": "Mine now"},
    "description": {"description": "hijacked"},
    "body": {"body": "defaced"},
    "tags": {"tagList": ["spam"]},
    "everything": {"title": "T", "description": "D", "body": "B", "tagList": []},
}


@pytest.mark.parametrize("who", ["anna", "mallory"])
@pytest.mark.parametrize("change", list(ARTICLE_CHANGES))
async def test_others_cannot_update_an_article(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene, who: str, change: str
) -> None:
    """anna commented on and favorited it, mallory is a stranger: neither may edit it."""
    body = {"article": ARTICLE_CHANGES[change]}
    url = f"/api/articles/{scene.slug}"
    auth = getattr(scene, who).auth
    await rejected(db, client, 403, "PUT", url, json=body, headers=auth)
    article = (await client.get(url)).json()["article"]
    assert (article["title"], article["body"], article["tagList"]) == ("Dragons", "b", ["a", "b"])


@pytest.mark.parametrize("who", ["anna", "mallory"])
async def test_others_cannot_delete_an_article(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene, who: str
) -> None:
    url = f"/api/articles/{scene.slug}"
    await rejected(db, client, 403, "DELETE", url, headers=getattr(scene, who).auth)
    assert (await client.get(url)).status_code == 200


@pytest.mark.parametrize(
    ("who", "whose"),
    [
        ("mallory", "anna_comment"),  # a stranger
        ("mallory", "jake_comment"),
        ("anna", "jake_comment"),  # another commenter
        ("jake", "anna_comment"),  # the article's author does not own the comments on it
    ],
)
async def test_others_cannot_delete_a_comment(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene, who: str, whose: str
) -> None:
    url = f"/api/articles/{scene.slug}/comments/{getattr(scene, whose)}"
    await rejected(db, client, 403, "DELETE", url, headers=getattr(scene, who).auth)


async def test_a_comment_cannot_be_deleted_through_another_article(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene
) -> None:
    """mallory owns an article: naming anna's comment under it reaches nothing."""
    url = f"/api/articles/{scene.mallory_slug}/comments/{scene.anna_comment}"
    await rejected(db, client, 404, "DELETE", url, headers=scene.mallory.auth)


async def test_notifications_are_only_the_recipients(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene
) -> None:
    jake_ids = [
        n["id"]
        for n in (await client.get("/api/notifications", headers=scene.jake.auth)).json()[
            "notifications"
        ]
    ]
    assert len(jake_ids) == 3
    newest = int(jake_ids[0])
    for query in ("", "?unread=true", f"?before={newest + 1}", f"?before={newest + 1}&limit=100"):
        page = (await client.get(f"/api/notifications{query}", headers=scene.mallory.auth)).json()
        assert page == {"notifications": [], "nextCursor": None}
    count = await client.get("/api/notifications/unread-count", headers=scene.mallory.auth)
    assert count.json() == {"unreadCount": 0}
    dashboard = (await client.get("/api/dashboard", headers=scene.mallory.auth)).json()
    assert dashboard["dashboard"]["notifications"] == []
    assert dashboard["dashboard"]["unreadCount"] == 0

    before = await snapshot(db)
    for body in ({"ids": jake_ids}, {"upTo": str(newest)}, {"upTo": str(newest + 10**6)}):
        marked = await client.post("/api/notifications/read", json=body, headers=scene.anna.auth)
        assert marked.json() == {"unreadCount": 0}
    assert await snapshot(db) == before
    jake_count = await client.get("/api/notifications/unread-count", headers=scene.jake.auth)
    assert jake_count.json() == {"unreadCount": 3}


# ---------------------------------------------------------------------------------------------
# API3: broken object property level authorization -- server-owned fields, others' slugs,
# private fields in what others see

SERVER_OWNED = {
    "favoritesCount": 10**6,
    "favorited": True,
    "author": {"username": "mallory", "bio": "", "image": "", "following": False},
    "createdAt": "2000-01-01T00:00:00.000Z",
    "updatedAt": "2000-01-01T00:00:00.000Z",
}


@pytest.mark.parametrize("field", list(SERVER_OWNED))
async def test_server_owned_fields_cannot_be_set_even_by_the_author(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene, field: str
) -> None:
    body = {"article": {"body": "new", field: SERVER_OWNED[field]}}
    url = f"/api/articles/{scene.slug}"
    await rejected(db, client, 422, "PUT", url, json=body, headers=scene.jake.auth)
    article = (await client.get(url)).json()["article"]
    assert (article["favoritesCount"], article["author"]["username"]) == (1, "jake")


async def test_an_article_cannot_take_another_articles_slug(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene
) -> None:
    """mallory retitles her own article to jake's title: she gets a slug of her own."""
    url = f"/api/articles/{scene.mallory_slug}"
    for body in ({"slug": scene.slug}, {"slug": scene.slug, "body": "x"}):
        await rejected(
            db, client, 422, "PUT", url, json={"article": body}, headers=scene.mallory.auth
        )
    retitled = await client.put(
        url, json={"article": {"title": "Dragons"}}, headers=scene.mallory.auth
    )
    assert retitled.status_code == 200, retitled.text
    new_slug = retitled.json()["article"]["slug"]
    assert new_slug != scene.slug
    assert new_slug.startswith("dragons-")
    jakes = (await client.get(f"/api/articles/{scene.slug}")).json()["article"]
    assert (jakes["author"]["username"], jakes["title"]) == ("jake", "Dragons")


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 1},
        {"token": "forged"},
        {"createdAt": "2000-01-01T00:00:00.000Z"},
        {"following": True},
        {"password_hash": "x"},
    ],
)
async def test_user_update_ignores_server_owned_fields(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene, extra: dict[str, Any]
) -> None:
    """The user form sends its whole object back (Lenient): unknown fields change nothing, and
    above all never point the update at another user (the token alone says who)."""
    users_before = [tuple(r) for r in await db.fetch("SELECT * FROM users ORDER BY id")]
    body = {"user": {"bio": "mallory was here", **extra}}
    response = await client.put("/api/user", json=body, headers=scene.mallory.auth)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "mallory"
    assert response.json()["user"]["token"] == scene.mallory.token
    users_after = [tuple(r) for r in await db.fetch("SELECT * FROM users ORDER BY id")]
    changed = [a for a, b in zip(users_after, users_before, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][1] == "mallory"


async def test_what_others_see_holds_no_email_hash_or_token(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene
) -> None:
    """Every read mallory can make about jake and anna: no email, password hash or token."""
    hashes = [r["password_hash"] for r in await db.fetch("SELECT password_hash FROM users")]
    secrets = [
        scene.jake.email,
        scene.anna.email,
        scene.jake.token,
        scene.anna.token,
        *(h for h in hashes if len(h) > 2),
    ]
    urls = [
        "/api/profiles/jake",
        "/api/profiles/anna",
        "/api/articles",
        "/api/articles?author=jake",
        "/api/articles?favorited=anna",
        f"/api/articles/{scene.slug}",
        f"/api/articles/{scene.slug}/comments",
        "/api/articles/feed",
        "/api/notifications",
        "/api/dashboard",
        "/api/tags",
    ]
    for url in urls:
        for headers in (scene.mallory.auth, {}):
            response = await client.get(url, headers=headers)
            assert response.status_code in (200, 401), (url, response.text)
            assert not any(s in response.text for s in secrets), (url, response.text)


async def test_private_fields_follow_the_viewer_on_repeated_reads(
    client: httpx.AsyncClient, api: Api, scene: Scene
) -> None:
    """anna favorited the article and follows jake; mallory does neither. Read alternately and
    repeatedly (a shared cached copy would answer the second round): each sees only their own."""
    expected = {"anna": True, "mallory": False, None: False}
    for _ in range(3):
        for who, mine in expected.items():
            headers = getattr(scene, who).auth if who else {}
            article = (await client.get(f"/api/articles/{scene.slug}", headers=headers)).json()
            assert article["article"]["favorited"] is mine, who
            assert article["article"]["author"]["following"] is mine, who
            listed = (await client.get("/api/articles?author=jake", headers=headers)).json()
            assert [a["favorited"] for a in listed["articles"]] == [mine], who
            profile = (await client.get("/api/profiles/jake", headers=headers)).json()
            assert profile["profile"]["following"] is mine, who
            comments = await client.get(f"/api/articles/{scene.slug}/comments", headers=headers)
            assert {c["author"]["following"] for c in comments.json()["comments"]} <= {
                False,
                mine,
            }, who


# ---------------------------------------------------------------------------------------------
# API5: broken function level authorization -- writes act as the token's user, never another


async def test_writes_act_only_as_the_tokens_user(
    client: httpx.AsyncClient, db: asyncpg.Connection, scene: Scene
) -> None:
    """mallory's favorite, follow and comment are recorded as hers, whatever the body claims."""
    mallory_id = await db.fetchval("SELECT id FROM users WHERE username = 'mallory'")
    await client.post(f"/api/articles/{scene.slug}/favorite", headers=scene.mallory.auth)
    await client.post("/api/profiles/jake/follow", headers=scene.mallory.auth)
    comment = await client.post(
        f"/api/articles/{scene.slug}/comments",
        json={"comment": {"body": "hi"}},
        headers=scene.mallory.auth,
    )
    assert comment.json()["comment"]["author"]["username"] == "mallory"
    favoriters = {r[0] for r in await db.fetch("SELECT user_id FROM favorites")}
    followers = {r[0] for r in await db.fetch("SELECT follower_id FROM follows")}
    assert mallory_id in favoriters
    assert mallory_id in followers
    # Undoing them as anna's viewer does not touch mallory's rows, and vice versa.
    before = await snapshot(db)
    response = await client.delete(
        f"/api/articles/{scene.mallory_slug}/favorite", headers=scene.anna.auth
    )
    assert response.status_code == 200
    assert await snapshot(db) == before
