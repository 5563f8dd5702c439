"""The naive app's reads: the mix's GETs, one connection per request, row by row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from brisk.lab.naive.context import error, naive
from brisk.lab.naive.data import Row

router = APIRouter()


@router.get("/health/live")
async def live() -> Row:
    return {"status": "ok"}


@router.get("/api/articles")
async def list_articles(
    request: Request, limit: int = 20, offset: int = 0, tag: str | None = None
) -> JSONResponse:
    app = naive(request)

    async def make() -> Row:
        async with app.connections.connect() as conn:
            kind = "tag" if tag else "all"
            cards, total = await app.data.articles(
                conn, kind, tag, app.viewer(request), limit, offset
            )
        return {"articles": cards, "articlesCount": total}

    return await app.cached(request, make)


@router.get("/api/articles/feed")
async def feed(request: Request, limit: int = 20, offset: int = 0) -> JSONResponse:
    app = naive(request)
    me = app.viewer(request)
    async with app.connections.connect() as conn:
        cards, total = await app.data.articles(conn, "feed", me, me, limit, offset)
    return JSONResponse({"articles": cards, "articlesCount": total})


@router.get("/api/articles/{slug}")
async def article(request: Request, slug: str) -> JSONResponse:
    app = naive(request)

    async def make() -> Row:
        async with app.connections.connect() as conn:
            return {"article": await app.data.article(conn, slug, app.viewer(request))}

    answer = await app.cached(request, make)
    return answer if b'"article":null' not in answer.body else error(404, "article")


@router.get("/api/articles/{slug}/comments")
async def comments(request: Request, slug: str) -> JSONResponse:
    app = naive(request)

    async def make() -> Row:
        async with app.connections.connect() as conn:
            return {"comments": await app.data.comments(conn, slug, app.viewer(request))}

    return await app.cached(request, make)


@router.get("/api/profiles/{username}")
async def profile(request: Request, username: str) -> JSONResponse:
    app = naive(request)
    async with app.connections.connect() as conn:
        user = await app.data.user_by_name(conn, username)
        if user is None:
            return error(404, "profile")
        return JSONResponse({"profile": await app.data.profile(conn, user, app.viewer(request))})


@router.get("/api/tags")
async def tags(request: Request) -> JSONResponse:
    app = naive(request)

    async def make() -> Row:
        async with app.connections.connect() as conn:
            rows = await conn.fetch(
                "SELECT t.name, count(*) FROM tags t JOIN article_tags at ON at.tag_id = t.id"
                " GROUP BY t.name ORDER BY count(*) DESC, t.name"
            )
        return {"tags": [r["name"] for r in rows]}

    return await app.cached(request, make)


@router.get("/api/dashboard")
async def dashboard(request: Request) -> JSONResponse:
    app = naive(request)
    me = app.viewer(request)
    if me is None:
        return error(401, "authentication required")

    async def part(read: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        # A request's slot: a part fans out reads itself, which take the other half.
        async with app.connections.connect() as conn:
            return await read(conn)

    data = app.data
    reads: list[Callable[[asyncpg.Connection], Awaitable[Any]]] = [
        lambda c: data.user_by_id(c, me),
        lambda c: data.articles(c, "author", me, me, 5),
        lambda c: data.articles(c, "feed", me, me, 10),
        lambda c: data.notifications(c, me),
    ]
    if data.concurrent:
        user, mine, feed, inbox = await asyncio.gather(*(part(read) for read in reads))
    else:
        async with app.connections.connect() as conn:
            user, mine, feed, inbox = [await read(conn) for read in reads]
    body = {
        "user": {k: user[k] for k in ("username", "email", "bio", "image")},
        "articles": mine[0],
        "feed": feed[0],
        "notifications": inbox[0],
        "unreadCount": inbox[1],
    }
    return JSONResponse({"dashboard": body})
