"""Naive data access: whole rows, one query per related row (N+1); or, when the lab adds the
"queries" technique, projected SQL with joins that reads a page in one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

Row = dict[str, Any]

# The "queries" technique: the columns a card needs, its author and the viewer's flags joined
# in, the stored favorites count and tag list: one statement per page instead of 1 + 5N.
_CARD = """
SELECT a.slug, a.title, a.description, a.created_at, a.updated_at, a.favorites_count,
       a.tag_list, u.username, u.bio, u.image,
       ($1::bigint IS NOT NULL AND EXISTS (SELECT 1 FROM favorites f
            WHERE f.user_id = $1 AND f.article_id = a.id)) AS favorited,
       ($1::bigint IS NOT NULL AND EXISTS (SELECT 1 FROM follows fo
            WHERE fo.follower_id = $1 AND fo.followee_id = a.author_id)) AS following
FROM articles a JOIN users u ON u.id = a.author_id
"""
_ORDER = " ORDER BY a.created_at DESC, a.id DESC LIMIT $2 OFFSET $3"
_JOINED_LISTS = {
    "all": _CARD + "WHERE $4::text IS NULL" + _ORDER,
    "tag": _CARD
    + "WHERE a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id"
    + " WHERE t.name = $4)"
    + _ORDER,
    "feed": _CARD
    + "WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $4::bigint)"
    + _ORDER,
    "author": _CARD + "WHERE a.author_id = $4::bigint" + _ORDER,
}
_NAIVE_LISTS = {
    "all": "SELECT * FROM articles WHERE $3::text IS NULL"
    " ORDER BY created_at DESC LIMIT $1 OFFSET $2",
    "tag": "SELECT a.* FROM articles a JOIN article_tags at ON at.article_id = a.id"
    " JOIN tags t ON t.id = at.tag_id WHERE t.name = $3"
    " ORDER BY a.created_at DESC LIMIT $1 OFFSET $2",
    "feed": "SELECT a.* FROM articles a JOIN follows f ON f.followee_id = a.author_id"
    " WHERE f.follower_id = $3::bigint ORDER BY a.created_at DESC LIMIT $1 OFFSET $2",
    "author": "SELECT * FROM articles WHERE author_id = $3::bigint"
    " ORDER BY created_at DESC LIMIT $1 OFFSET $2",
}
_NAIVE_COUNTS = {
    "all": "SELECT count(*) FROM articles WHERE $1::text IS NULL",
    "tag": "SELECT count(*) FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE t.name = $1",
    "feed": "SELECT count(*) FROM articles a JOIN follows f ON f.followee_id = a.author_id"
    " WHERE f.follower_id = $1::bigint",
    "author": "SELECT count(*) FROM articles WHERE author_id = $1::bigint",
}

Connect = Callable[[], Any]  # an async context manager giving an asyncpg connection


def iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")


class NaiveData:
    """Reads for the naive app. `concurrent` runs a page's per-article reads at once, each on
    its own connection; otherwise one after another on the request's connection."""

    def __init__(self, connect: Connect, *, joined: bool, concurrent: bool) -> None:
        self.connect, self.joined, self.concurrent = connect, joined, concurrent

    async def user_by_name(self, conn: asyncpg.Connection, username: str) -> Row | None:
        row = await conn.fetchrow("SELECT * FROM users WHERE username = $1", username)
        return dict(row) if row else None

    async def user_by_id(self, conn: asyncpg.Connection, user_id: int) -> Row | None:
        row = await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return dict(row) if row else None

    async def following(self, conn: asyncpg.Connection, viewer: int | None, user: int) -> bool:
        if viewer is None:
            return False
        row = await conn.fetchrow(
            "SELECT * FROM follows WHERE follower_id = $1 AND followee_id = $2", viewer, user
        )
        return row is not None

    async def profile(self, conn: asyncpg.Connection, user: Row, viewer: int | None) -> Row:
        following = await self.following(conn, viewer, user["id"])
        return {
            "username": user["username"],
            "bio": user["bio"],
            "image": user["image"],
            "following": following,
        }

    async def card(self, conn: asyncpg.Connection, article: Row, viewer: int | None) -> Row:
        """The classic N+1: the author, the tags, the favorites count and the viewer's flags,
        each its own query per article."""
        author = await self.user_by_id(conn, article["author_id"]) or {}
        tags = await conn.fetch(
            "SELECT t.* FROM tags t JOIN article_tags at ON at.tag_id = t.id"
            " WHERE at.article_id = $1",
            article["id"],
        )
        count = await conn.fetchval(
            "SELECT count(*) FROM favorites WHERE article_id = $1", article["id"]
        )
        favorited = viewer is not None and (
            await conn.fetchrow(
                "SELECT * FROM favorites WHERE user_id = $1 AND article_id = $2",
                viewer,
                article["id"],
            )
            is not None
        )
        card = {k: article[k] for k in ("slug", "title", "description")}
        card |= {
            "tagList": sorted(t["name"] for t in tags),
            "createdAt": iso(article["created_at"]),
            "updatedAt": iso(article["updated_at"]),
            "favorited": favorited,
            "favoritesCount": count,
            "author": await self.profile(conn, author, viewer),
        }
        return card

    async def _each(
        self,
        conn: asyncpg.Connection,
        rows: list[Row],
        make: Callable[..., Awaitable[Row]],
        viewer: int | None,
    ) -> list[Row]:
        if not self.concurrent:
            return [await make(conn, row, viewer) for row in rows]
        import asyncio

        async def own(row: Row) -> Row:
            async with self.connect() as other:
                return await make(other, row, viewer)

        return list(await asyncio.gather(*(own(row) for row in rows)))

    async def articles(
        self,
        conn: asyncpg.Connection,
        kind: str,
        key: Any,
        viewer: int | None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[Row], int]:
        if self.joined:
            rows = await conn.fetch(_JOINED_LISTS[kind], viewer, limit, offset, key)
            cards = [_joined_card(r) for r in rows]
            if kind == "all":
                total = await conn.fetchval("SELECT value FROM counters WHERE name = 'articles'")
            else:
                total = await conn.fetchval(_NAIVE_COUNTS[kind], key)
            return cards, int(total or 0)
        found = [dict(r) for r in await conn.fetch(_NAIVE_LISTS[kind], limit, offset, key)]
        total = await conn.fetchval(_NAIVE_COUNTS[kind], key)
        return await self._each(conn, found, self.card, viewer), int(total)

    async def article(self, conn: asyncpg.Connection, slug: str, viewer: int | None) -> Row | None:
        if self.joined:
            row = await conn.fetchrow(_CARD + "WHERE a.slug = $2", viewer, slug)
            if row is None:
                return None
            body = await conn.fetchval("SELECT body FROM articles WHERE slug = $1", slug)
            return _joined_card(row) | {"body": body}
        found = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
        if found is None:
            return None
        return await self.card(conn, dict(found), viewer) | {"body": found["body"]}

    async def comments(self, conn: asyncpg.Connection, slug: str, viewer: int | None) -> list[Row]:
        if self.joined:
            rows = await conn.fetch(
                "SELECT c.id, c.body, c.created_at, c.updated_at, u.username, u.bio, u.image"
                " FROM comments c JOIN users u ON u.id = c.author_id"
                " WHERE c.article_id = (SELECT id FROM articles WHERE slug = $1)"
                " ORDER BY c.created_at DESC, c.id DESC LIMIT 100",
                slug,
            )
            return [
                _comment(
                    dict(r),
                    {
                        "username": r["username"],
                        "bio": r["bio"],
                        "image": r["image"],
                        "following": False,
                    },
                )
                for r in rows
            ]
        article = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
        if article is None:
            return []
        found = await conn.fetch(
            "SELECT * FROM comments WHERE article_id = $1 ORDER BY created_at DESC LIMIT 100",
            article["id"],
        )

        async def one(c: asyncpg.Connection, row: Row, who: int | None) -> Row:
            author = await self.user_by_id(c, row["author_id"]) or {}
            return _comment(row, await self.profile(c, author, who))

        return await self._each(conn, [dict(r) for r in found], one, viewer)

    async def notifications(self, conn: asyncpg.Connection, user_id: int) -> tuple[list[Row], int]:
        rows = await conn.fetch(
            "SELECT * FROM notifications WHERE recipient_id = $1 ORDER BY id DESC LIMIT 10",
            user_id,
        )
        unread = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE recipient_id = $1 AND read_at IS NULL",
            user_id,
        )
        items = []
        for row in rows:
            actor = await self.user_by_id(conn, row["actor_id"]) or {}
            items.append(
                {
                    "id": str(row["id"]),
                    "kind": row["kind"],
                    "actor": {"username": actor.get("username")},
                    "createdAt": iso(row["created_at"]),
                    "read": row["read_at"] is not None,
                }
            )
        return items, int(unread)


def _joined_card(row: asyncpg.Record) -> Row:
    return {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "tagList": list(row["tag_list"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "favorited": row["favorited"],
        "favoritesCount": row["favorites_count"],
        "author": {
            "username": row["username"],
            "bio": row["bio"],
            "image": row["image"],
            "following": row["following"],
        },
    }


def _comment(row: Row, author: Row) -> Row:
    return {
        "id": row["id"],
        "body": row["body"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "author": author,
    }
