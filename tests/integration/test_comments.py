"""Comments: add, list newest first, delete only your own."""

from __future__ import annotations

import asyncpg
import httpx

from tests.integration.conftest import Api, assert_error, table_counts


async def test_comment_lifecycle(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection
) -> None:
    jake, anna = await api.register("jake"), await api.register("anna")
    slug = (await api.create_article(jake, "Commented"))["slug"]
    url = f"/api/articles/{slug}/comments"
    assert (await client.get(url)).json() == {"comments": []}
    first = (await client.post(url, json={"comment": {"body": "one"}}, headers=anna.auth)).json()
    second = (await client.post(url, json={"comment": {"body": "two"}}, headers=jake.auth)).json()
    assert first["comment"]["author"]["username"] == "anna"
    listed = (await client.get(url, headers=jake.auth)).json()["comments"]
    assert [c["body"] for c in listed] == ["two", "one"]
    assert listed[1]["author"]["following"] is False

    before = await table_counts(db)
    other = f"{url}/{first['comment']['id']}"
    assert_error(await client.delete(other, headers=jake.auth), 403)
    assert_error(await client.delete(f"{url}/999999", headers=jake.auth), 404)
    assert await table_counts(db) == before
    assert (await client.delete(other, headers=anna.auth)).status_code == 204
    remaining = (await client.get(url)).json()["comments"]
    assert [c["id"] for c in remaining] == [second["comment"]["id"]]


async def test_comments_of_unknown_article(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    assert_error(await client.get("/api/articles/nope/comments"), 404)
    body = {"comment": {"body": "hi"}}
    assert_error(
        await client.post("/api/articles/nope/comments", json=body, headers=jake.auth), 404
    )
