"""Notifications: made with their cause, never for your own actions, no spam, only the
recipient reads or marks them, keyset pages that hold still while new ones arrive."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import httpx
import pytest

from brisk.services import Services
from tests.integration.conftest import Api, ApiUser, assert_error, quick_user

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def inbox(client: httpx.AsyncClient, user: ApiUser, query: str = "") -> Any:
    response = await client.get(f"/api/notifications{query}", headers=user.auth)
    assert response.status_code == 200, response.text
    return response.json()


async def unread_count(client: httpx.AsyncClient, user: ApiUser) -> int:
    response = await client.get("/api/notifications/unread-count", headers=user.auth)
    assert response.status_code == 200, response.text
    count: int = response.json()["unreadCount"]
    return count


async def mark_read(client: httpx.AsyncClient, user: ApiUser, body: dict[str, Any]) -> Any:
    return await client.post("/api/notifications/read", json=body, headers=user.auth)


async def commented(
    client: httpx.AsyncClient, api: Api, author: ApiUser, by: ApiUser, n: int
) -> list[str]:
    """`n` comments by `by` on a new article of `author`: the ids of their notifications,
    newest first."""
    slug = (await api.create_article(author, "Commented"))["slug"]
    for k in range(n):
        await api.comment(by, slug, f"c{k}")
    return [item["id"] for item in (await inbox(client, author))["notifications"]]


@pytest.fixture
async def users(db: asyncpg.Connection, services: Services) -> tuple[ApiUser, ...]:
    return tuple([await quick_user(db, services, n) for n in ("jake", "anna", "bob")])


async def test_each_kind_reaches_the_author(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, _ = users
    await api.follow(anna, "jake")
    article = await api.create_article(jake, "Dragons")
    await api.favorite(anna, article["slug"])
    await api.comment(anna, article["slug"])

    page = await inbox(client, jake)
    assert [n["kind"] for n in page["notifications"]] == ["comment", "favorite", "follow"]
    assert page["nextCursor"] is None
    comment, favorite, follow = page["notifications"]
    anna_profile = {"username": "anna", "bio": "", "image": "", "following": False}
    for item in page["notifications"]:
        assert set(item) == {"id", "kind", "actor", "article", "createdAt", "read"}
        assert item["actor"] == anna_profile
        assert isinstance(item["id"], str)
        assert ISO.match(item["createdAt"])
        assert item["read"] is False
    assert (
        comment["article"] == favorite["article"] == {"slug": article["slug"], "title": "Dragons"}
    )
    assert follow["article"] is None
    assert int(comment["id"]) > int(favorite["id"]) > int(follow["id"])
    assert await unread_count(client, jake) == 3

    await api.follow(jake, "anna")  # the actor's profile is seen through the recipient's eyes
    assert (await inbox(client, jake))["notifications"][0]["actor"]["following"] is True
    assert [n["kind"] for n in (await inbox(client, anna))["notifications"]] == ["follow"]


async def test_no_notification_for_your_own_actions(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...], db: asyncpg.Connection
) -> None:
    jake = users[0]
    article = await api.create_article(jake, "Mine")
    await api.favorite(jake, article["slug"])
    await api.comment(jake, article["slug"])
    assert_error(await client.post("/api/profiles/jake/follow", headers=jake.auth), 422)
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0
    assert (await inbox(client, jake))["notifications"] == []
    assert await unread_count(client, jake) == 0


async def test_follow_and_favorite_again_add_nothing(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...], db: asyncpg.Connection
) -> None:
    jake, anna, _ = users
    article = await api.create_article(jake, "Popular")
    favorite = f"/api/articles/{article['slug']}/favorite"
    for _ in range(3):
        await api.follow(anna, "jake")
        await api.follow(anna, "jake")  # a repeated follow is not a new one
        await client.delete("/api/profiles/jake/follow", headers=anna.auth)
        await api.favorite(anna, article["slug"])
        await client.delete(favorite, headers=anna.auth)
    await api.comment(anna, article["slug"])
    await api.comment(anna, article["slug"])  # but every comment is news
    kinds = await db.fetch("SELECT kind, count(*) FROM notifications GROUP BY 1 ORDER BY 1")
    assert [tuple(r) for r in kinds] == [("comment", 2), ("favorite", 1), ("follow", 1)]
    # Undoing the cause does not take the notification back (ADR 0005).
    assert await unread_count(client, jake) == 4


async def test_only_the_recipient_reads_or_marks(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, bob = users
    article = await api.create_article(jake, "Private")
    await api.follow(anna, "jake")
    await api.comment(anna, article["slug"])
    ids = [n["id"] for n in (await inbox(client, jake))["notifications"]]

    assert (await inbox(client, bob))["notifications"] == []
    assert (await inbox(client, bob, f"?before={int(ids[0]) + 1}"))["notifications"] == []
    # Someone else's ids answer exactly as ids that do not exist: nothing is revealed.
    theirs = await mark_read(client, bob, {"ids": ids})
    unknown = await mark_read(client, bob, {"ids": ["999999"]})
    up_to = await mark_read(client, bob, {"upTo": str(int(ids[0]) + 1000)})
    assert theirs.status_code == unknown.status_code == up_to.status_code == 200
    assert theirs.json() == unknown.json() == up_to.json() == {"unreadCount": 0}
    assert await unread_count(client, jake) == 2
    assert not any(n["read"] for n in (await inbox(client, jake))["notifications"])


async def test_anonymous_gets_401(client: httpx.AsyncClient) -> None:
    for method, url in (
        ("GET", "/api/notifications"),
        ("GET", "/api/notifications/unread-count"),
        ("POST", "/api/notifications/read"),
        ("GET", "/api/dashboard"),
    ):
        response = await client.request(method, url, json={"ids": ["1"]})
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"] == "Token"


async def test_mark_read_by_ids_and_up_to(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, _ = users
    ids = await commented(client, api, jake, anna, 6)
    assert (await mark_read(client, jake, {"ids": ids[:2]})).json() == {"unreadCount": 4}
    assert (await mark_read(client, jake, {"ids": ids[:2]})).json() == {"unreadCount": 4}
    unread = await inbox(client, jake, "?unread=true")
    assert [n["id"] for n in unread["notifications"]] == ids[2:]
    # "Up to" a cursor includes it and everything older.
    assert (await mark_read(client, jake, {"upTo": ids[3]})).json() == {"unreadCount": 1}
    listed = (await inbox(client, jake))["notifications"]
    assert [n["read"] for n in listed] == [True, True, False, True, True, True]
    assert [n["id"] for n in (await inbox(client, jake, "?unread=true"))["notifications"]] == [
        ids[2]
    ]


async def test_pages_hold_still_while_new_ones_arrive(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, bob = users
    slug = (await api.create_article(jake, "Thread"))["slug"]
    for n in range(25):
        await api.comment(anna, slug, f"old {n}")
    first = await inbox(client, jake, "?limit=10")
    seen = first["notifications"]

    async def keep_commenting() -> None:
        for n in range(15):
            await api.comment(bob, slug, f"new {n}")

    async def read_on() -> None:
        cursor = first["nextCursor"]
        while cursor is not None:
            page = await inbox(client, jake, f"?limit=10&before={cursor}")
            seen.extend(page["notifications"])
            cursor = page["nextCursor"]
            await asyncio.sleep(0)  # let the writer in between pages

    await asyncio.gather(keep_commenting(), read_on())
    ids = [int(n["id"]) for n in seen]
    assert len(ids) == len(set(ids)) == 25  # every old one once, none of the new ones
    assert ids == sorted(ids, reverse=True)
    assert {n["actor"]["username"] for n in seen} == {"anna"}
    newest = (await inbox(client, jake, "?limit=15"))["notifications"]
    assert {n["actor"]["username"] for n in newest} == {"bob"}  # they wait at the top


async def test_unread_pages_follow_the_cursor(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, _ = users
    ids = await commented(client, api, jake, anna, 7)
    await mark_read(client, jake, {"ids": ids[1::2]})  # every other one
    first = await inbox(client, jake, "?unread=true&limit=2")
    second = await inbox(client, jake, f"?unread=true&limit=2&before={first['nextCursor']}")
    assert [n["id"] for n in first["notifications"] + second["notifications"]] == ids[0::2]
    assert second["nextCursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        *("?before=abc", "?before=0", "?before=-1", "?before=0012", "?before=1e3"),
        "?before=" + "9" * 19,  # more than a bigint holds
        *("?limit=0", "?limit=101", "?limit=x"),
    ],
)
async def test_bad_cursor_or_limit_is_422(
    client: httpx.AsyncClient, users: tuple[ApiUser, ...], query: str
) -> None:
    assert_error(await client.get(f"/api/notifications{query}", headers=users[0].auth), 422)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": ["1"], "upTo": "1"},
        {"ids": [1]},
        {"ids": ["x"]},
        {"ids": ["1"] * 101},
        {"upTo": "99999999999999999999"},
        {"upTo": None},
        {"ids": ["1"], "extra": True},
    ],
)
async def test_bad_mark_read_body_is_422(
    client: httpx.AsyncClient, users: tuple[ApiUser, ...], body: dict[str, Any]
) -> None:
    assert_error(await mark_read(client, users[0], body), 422)


async def test_deleted_causes_take_their_notifications(
    client: httpx.AsyncClient, api: Api, users: tuple[ApiUser, ...]
) -> None:
    jake, anna, _ = users
    await api.follow(anna, "jake")
    gone = await api.create_article(jake, "Gone")
    kept = await api.create_article(jake, "Kept")
    await api.favorite(anna, gone["slug"])
    comment = await api.comment(anna, kept["slug"])
    await api.comment(anna, kept["slug"], "stays")
    await client.delete(f"/api/articles/{gone['slug']}", headers=jake.auth)
    await client.delete(f"/api/articles/{kept['slug']}/comments/{comment['id']}", headers=anna.auth)
    assert [n["kind"] for n in (await inbox(client, jake))["notifications"]] == [
        "comment",
        "follow",
    ]
