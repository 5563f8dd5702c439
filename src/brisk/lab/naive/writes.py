"""The naive app's writes: favorites and comments, read-modify-write on whole rows."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from brisk.lab.naive.context import error, naive

router = APIRouter()


@router.post("/api/articles/{slug}/favorite")
async def favorite(request: Request, slug: str) -> JSONResponse:
    return await _favorite(request, slug, on=True)


@router.delete("/api/articles/{slug}/favorite")
async def unfavorite(request: Request, slug: str) -> JSONResponse:
    return await _favorite(request, slug, on=False)


async def _favorite(request: Request, slug: str, *, on: bool) -> JSONResponse:
    app = naive(request)
    me = app.viewer(request)
    async with app.connections.connect() as conn:
        found = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
        if found is None or me is None:
            return error(404, "article")
        if on:
            done = await conn.execute(
                "INSERT INTO favorites (user_id, article_id, article_created_at, author_id)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                me,
                found["id"],
                found["created_at"],
                found["author_id"],
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
        return JSONResponse({"article": await app.data.article(conn, slug, me)})


@router.post("/api/articles/{slug}/comments")
async def comment(request: Request, slug: str) -> JSONResponse:
    app = naive(request)
    me = app.viewer(request)
    payload = await request.json()
    async with app.connections.connect() as conn:
        found = await conn.fetchrow("SELECT * FROM articles WHERE slug = $1", slug)
        if found is None or me is None:
            return error(404, "article")
        row = await conn.fetchrow(
            "INSERT INTO comments (article_id, author_id, body) VALUES ($1, $2, $3) RETURNING *",
            found["id"],
            me,
            payload["comment"]["body"],
        )
        author = await app.data.user_by_id(conn, me) or {}
        profile = await app.data.profile(conn, author, me)
    assert row is not None  # INSERT ... RETURNING returns its row
    body = {"id": row["id"], "body": row["body"], "author": profile}
    return JSONResponse({"comment": body}, status_code=201)
