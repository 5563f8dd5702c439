"""`brisk serve --demo` data shows through the API like any other: tags, totals, logins."""

from __future__ import annotations

import httpx

from brisk.demo import DEMO_LOGINS, load_demo


async def test_demo_data_is_consistent_and_loads_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await load_demo(database_url)
    await load_demo(database_url)  # a second run finds the data and adds nothing
    listed = (await client.get("/api/articles")).json()
    assert listed["articlesCount"] == len(listed["articles"]) == 4
    assert all(article["tagList"] for article in listed["articles"])
    assert (await client.get("/api/tags")).json()["tags"][0] in {"performance", "postgres"}
    assert (await client.get("/api/articles?author=alice")).json()["articlesCount"] == 2
    for email, password in DEMO_LOGINS:  # the logins `make run` prints
        login = {"user": {"email": email, "password": password}}
        assert (await client.post("/api/users/login", json=login)).status_code == 200
