"""The naive "before" app: the mix's endpoints written the way a first version often is.

A new PostgreSQL connection per request, `SELECT *`, one query per related row (N+1), reads
awaited one after another, no cache; run against a copy of the schema without secondary
indexes. Each of the lab's techniques can be switched on alone (environment, see `NaiveOptions`)
to measure what it is worth by itself. Never part of brisk proper: `uvicorn --factory
brisk.lab.naive.app:create_from_env`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from brisk.lab.naive.data import NaiveData, Row
from brisk.security import TokenCodec

# The "cache" technique here is the simplest one: whole anonymous GET answers kept for this long.
CACHE_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class NaiveOptions:
    """Techniques added to the naive app (BRISK_LAB_<NAME>=1); all off is the lab's "before"."""

    pool: bool = False  # a bounded asyncpg pool instead of a connection per request
    concurrent: bool = False  # independent reads at once (each on its own connection)
    queries: bool = False  # projected columns, joins instead of N+1, stored counters
    cache: bool = False  # anonymous GET answers kept in process for CACHE_TTL_SECONDS
    pool_size: int = 8
    # Never more connections than this at once, pool or not: with concurrent reads a naive
    # page opens one per article, and on a shared server that exhausted max_connections
    # (other clients got "remaining connection slots are reserved"). Requests wait instead.
    max_connections: int = 24

    @classmethod
    def from_env(cls) -> NaiveOptions:
        def on(name: str) -> bool:
            return os.environ.get(f"BRISK_LAB_{name.upper()}", "0") in ("1", "true")

        size = int(os.environ.get("BRISK_LAB_POOL_SIZE", "8"))
        cap = int(os.environ.get("BRISK_LAB_MAX_CONNECTIONS", "24"))
        names = ("pool", "concurrent", "queries", "cache")
        return cls(**{name: on(name) for name in names}, pool_size=size, max_connections=cap)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"errors": {"body": [message]}}, status_code=status)


def create_app(url: str, secret: str, options: NaiveOptions) -> FastAPI:
    tokens = TokenCodec(secret, 3600)
    state: dict[str, Any] = {}
    cache: dict[str, tuple[float, Row]] = {}

    @asynccontextmanager
    async def connect(slots: str = "requests") -> AsyncIterator[asyncpg.Connection]:
        if options.pool:
            async with state["pool"].acquire() as conn:
                yield conn
            return
        # Requests and the reads they fan out take slots from separate halves of the cap: a
        # request holding a slot while it waits for more can then never wait on another such
        # request (one shared count deadlocked as soon as clients outnumbered it).
        async with state[slots]:
            conn = await asyncpg.connect(url)
            try:
                yield conn
            finally:
                await conn.close()

    def connect_read() -> Any:
        return connect("reads")

    data = NaiveData(connect_read, joined=options.queries, concurrent=options.concurrent)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reads = options.max_connections // 2 if options.concurrent else 0
        state["requests"] = asyncio.Semaphore(max(1, options.max_connections - reads))
        state["reads"] = asyncio.Semaphore(max(1, reads))
        if options.pool:
            size = min(options.pool_size, options.max_connections)
            state["pool"] = await asyncpg.create_pool(url, min_size=1, max_size=size)
        yield
        if options.pool:
            await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    def viewer(request: Request) -> int | None:
        header = request.headers.get("authorization", "")
        return tokens.user_id(header.split(" ", 1)[1]) if " " in header else None

    async def cached(request: Request, make: Callable[[], Awaitable[Row]]) -> JSONResponse:
        if not options.cache or "authorization" in request.headers:
            return JSONResponse(await make())
        key = str(request.url)
        hit = cache.get(key)
        if hit and hit[0] > time.monotonic():
            return JSONResponse(hit[1])
        value = await make()
        cache[key] = (time.monotonic() + CACHE_TTL_SECONDS, value)
        return JSONResponse(value)

    @app.get("/health/live")
    async def live() -> Row:
        return {"status": "ok"}

    @app.get("/api/articles")
    async def list_articles(
        request: Request, limit: int = 20, offset: int = 0, tag: str | None = None
    ) -> JSONResponse:
        async def make() -> Row:
            async with connect() as conn:
                kind = "tag" if tag else "all"
                cards, total = await data.articles(conn, kind, tag, viewer(request), limit, offset)
            return {"articles": cards, "articlesCount": total}

        return await cached(request, make)

    @app.get("/api/articles/feed")
    async def feed(request: Request, limit: int = 20, offset: int = 0) -> JSONResponse:
        me = viewer(request)
        async with connect() as conn:
            cards, total = await data.articles(conn, "feed", me, me, limit, offset)
        return JSONResponse({"articles": cards, "articlesCount": total})

    @app.get("/api/articles/{slug}")
    async def article(request: Request, slug: str) -> JSONResponse:
        async def make() -> Row:
            async with connect() as conn:
                return {"article": await data.article(conn, slug, viewer(request))}

        answer = await cached(request, make)
        return answer if b'"article":null' not in answer.body else _error(404, "article")

    @app.get("/api/articles/{slug}/comments")
    async def comments(request: Request, slug: str) -> JSONResponse:
        async def make() -> Row:
            async with connect() as conn:
                return {"comments": await data.comments(conn, slug, viewer(request))}

        return await cached(request, make)

    @app.get("/api/profiles/{username}")
    async def profile(request: Request, username: str) -> JSONResponse:
        async with connect() as conn:
            user = await data.user_by_name(conn, username)
            if user is None:
                return _error(404, "profile")
            return JSONResponse({"profile": await data.profile(conn, user, viewer(request))})

    @app.get("/api/tags")
    async def tags(request: Request) -> JSONResponse:
        async def make() -> Row:
            async with connect() as conn:
                rows = await conn.fetch(
                    "SELECT t.name, count(*) FROM tags t JOIN article_tags at ON at.tag_id = t.id"
                    " GROUP BY t.name ORDER BY count(*) DESC, t.name"
                )
            return {"tags": [r["name"] for r in rows]}

        return await cached(request, make)

    @app.get("/api/dashboard")
    async def dashboard(request: Request) -> JSONResponse:
        me = viewer(request)
        if me is None:
            return _error(401, "authentication required")

        async def part(read: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
            # A request's slot: a part fans out reads itself, which take the other half.
            async with connect() as conn:
                return await read(conn)

        reads: list[Callable[[asyncpg.Connection], Awaitable[Any]]] = [
            lambda c: data.user_by_id(c, me),
            lambda c: data.articles(c, "author", me, me, 5),
            lambda c: data.articles(c, "feed", me, me, 10),
            lambda c: data.notifications(c, me),
        ]
        if options.concurrent:
            user, mine, feed, inbox = await asyncio.gather(*(part(read) for read in reads))
        else:
            async with connect() as conn:
                user, mine, feed, inbox = [await read(conn) for read in reads]
        body = {
            "user": {k: user[k] for k in ("username", "email", "bio", "image")},
            "articles": mine[0],
            "feed": feed[0],
            "notifications": inbox[0],
            "unreadCount": inbox[1],
        }
        return JSONResponse({"dashboard": body})

    @app.post("/api/articles/{slug}/favorite")
    async def favorite(request: Request, slug: str) -> JSONResponse:
        return await _favorite(request, slug, on=True)

    @app.delete("/api/articles/{slug}/favorite")
    async def unfavorite(request: Request, slug: str) -> JSONResponse:
        return await _favorite(request, slug, on=False)

    async def _favorite(request: Request, slug: str, *, on: bool) -> JSONResponse:
        me = viewer(request)
        async with connect() as conn:
            found = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
            if found is None or me is None:
                return _error(404, "article")
            if on:
                done = await conn.execute(
                    "INSERT INTO favorites (user_id, article_id) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING",
                    me,
                    found["id"],
                )
                change = 1 if done.endswith(" 1") else 0
            else:
                done = await conn.execute(
                    "DELETE FROM favorites WHERE user_id = $1 AND article_id = $2", me, found["id"]
                )
                change = -1 if done.endswith(" 1") else 0
            if change:
                await conn.execute(
                    "UPDATE articles SET favorites_count = favorites_count + $1 WHERE id = $2",
                    change,
                    found["id"],
                )
            return JSONResponse({"article": await data.article(conn, slug, me)})

    @app.post("/api/articles/{slug}/comments")
    async def comment(request: Request, slug: str) -> JSONResponse:
        me = viewer(request)
        payload = await request.json()
        async with connect() as conn:
            found = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
            if found is None or me is None:
                return _error(404, "article")
            row = await conn.fetchrow(
                "INSERT INTO comments (article_id, author_id, body) VALUES ($1, $2, $3)"
                " RETURNING *",
                found["id"],
                me,
                payload["comment"]["body"],
            )
            author = await data.user_by_id(conn, me) or {}
            profile = await data.profile(conn, author, me)
        assert row is not None  # INSERT ... RETURNING returns its row
        comment = {"id": row["id"], "body": row["body"], "author": profile}
        return JSONResponse({"comment": comment}, status_code=201)

    return app


def create_from_env() -> FastAPI:
    return create_app(
        os.environ["BRISK_DATABASE_URL"], os.environ["BRISK_SECRET_KEY"], NaiveOptions.from_env()
    )
