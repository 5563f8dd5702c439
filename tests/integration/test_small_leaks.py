"""Smaller leaks a hostile tester found (issue 14): script URLs stored as images, the client's
Host reflected into redirects, token-bearing responses a shared cache could keep, Server-Timing
telling anyone what was read lately, /metrics on the public port, and a null that was silently
ignored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Api, assert_error
from tests.integration.live import free_port, serve, wait_ready


@pytest.mark.parametrize(
    "image",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "//evil.example/x.png",
        "ftp://example.com/x.png",
    ],
)
async def test_image_must_be_an_http_url(client: httpx.AsyncClient, api: Api, image: str) -> None:
    user = await api.register("painter")
    body = {"user": {"image": image}}
    assert_error(await client.put("/api/user", json=body, headers=user.auth), 422)
    assert (await client.get("/api/profiles/painter")).json()["profile"]["image"] == ""


async def test_http_images_and_clearing_still_work(client: httpx.AsyncClient, api: Api) -> None:
    user = await api.register("painter")
    for image in ("https://example.com/a.png", "HTTP://example.com/b.png", ""):
        response = await client.put("/api/user", json={"user": {"image": image}}, headers=user.auth)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["image"] == image


async def test_null_is_refused_in_the_user_update_as_in_the_article_update(
    client: httpx.AsyncClient, api: Api
) -> None:
    user = await api.register("nully")
    for field in ("bio", "image", "username", "email", "password"):
        assert_error(
            await client.put("/api/user", json={"user": {field: None}}, headers=user.auth), 422
        )
    article = await api.create_article(user, "t")
    assert_error(
        await client.put(
            f"/api/articles/{article['slug']}", json={"article": {"body": None}}, headers=user.auth
        ),
        422,
    )


async def test_redirects_never_name_the_clients_host(client: httpx.AsyncClient) -> None:
    # A trailing slash is redirected to the route without it; the Location must not be built
    # from a Host header the client chose.
    response = await client.get("/api/tags/", headers={"Host": "evil.example"})
    assert 300 <= response.status_code < 400, response.text
    location = response.headers["location"]
    assert "evil.example" not in location
    assert location == "/api/tags"


async def test_token_bearing_responses_are_private(client: httpx.AsyncClient, api: Api) -> None:
    body = {"user": {"username": "priv", "email": "priv@example.com", "password": "password123"}}
    registered = await client.post("/api/users", json=body)
    login = await client.post(
        "/api/users/login", json={"user": {"email": "priv@example.com", "password": "password123"}}
    )
    auth = {"Authorization": f"Token {login.json()['user']['token']}"}
    signed_in = [
        registered,
        login,
        await client.get("/api/user", headers=auth),
        await client.put("/api/user", json={"user": {"bio": "b"}}, headers=auth),
        await client.get("/api/articles", headers=auth),
        await client.get("/api/dashboard", headers=auth),
        await client.get("/api/dashboard", headers=auth),  # the fast path's answer too
    ]
    for response in signed_in:
        assert response.status_code in (200, 201), response.text
        assert response.headers["cache-control"] == "private, no-store", response.url
        assert "authorization" in response.headers["vary"].lower(), response.url
    anonymous = await client.get("/api/tags")
    assert "no-store" not in anonymous.headers.get("cache-control", "")


async def test_server_timing_shows_anonymous_clients_no_cache_or_query_facts(
    client: httpx.AsyncClient, api: Api
) -> None:
    """The default (`total`): whether a resource was read lately is nobody's business."""
    author = await api.register("timed")
    slug = (await api.create_article(author, "seen"))["slug"]
    for _ in range(2):  # a miss, then a hit: the header must not tell them apart
        timing = (await client.get(f"/api/articles/{slug}")).headers["server-timing"]
        assert re.fullmatch(r"app;dur=[\d.]+", timing), timing
    timing = (await client.get("/api/user", headers=author.auth)).headers["server-timing"]
    assert re.fullmatch(r"app;dur=[\d.]+", timing), timing


async def test_metrics_can_live_on_their_own_address(
    servers: tuple[str, str], database_url: str, tmp_path: Path
) -> None:
    """With BRISK_TELEMETRY__METRICS_ADDRESS the API port has no /metrics; the address has."""
    metrics_port = free_port()
    env = {"BRISK_TELEMETRY__METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    served = serve(database_url, servers[1], tmp_path / "serve.log", env=env)
    try:
        await wait_ready(served)
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{served.api}/tags")).status_code == 200
            assert (await http.get(f"{served.base}/metrics")).status_code == 404
            scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert scraped.status_code == 200
            assert "http_server_request_duration_seconds" in scraped.text
            assert (await http.get(f"http://127.0.0.1:{metrics_port}/api/tags")).status_code == 404
    finally:
        served.stop()
