"""Abuse limits: login and register per client address and per account, shared by every process
through Redis, 429 with Retry-After; fail-open when Redis is down; X-Forwarded-For believed only
from trusted proxies; tokens of a rotated-out secret accepted for the grace period only."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from tests.conftest import TEST_SECRET, make_settings
from tests.integration.conftest import assert_error, table_counts

LOGIN = "/api/users/login"
OLD_SECRET = "the-secret-we-used-last-month-" + "z" * 20
Clients = Callable[..., AbstractAsyncContextManager[Callable[..., httpx.AsyncClient]]]


@pytest.fixture
def namespace() -> str:
    return f"t-limits-{secrets.token_hex(4)}"


@pytest.fixture
def brisk_app(database_url: str, servers: tuple[str, str], namespace: str) -> Clients:
    """`async with brisk_app(limits={...}) as client_from:` -- an app of its own with these
    settings; `client_from("10.0.0.7")` is an HTTP client whose requests come from that address."""

    @asynccontextmanager
    async def start(
        redis_url: str | None = servers[1], **overrides: Any
    ) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
        overrides.setdefault("cache", {"namespace": namespace})
        settings = make_settings(database_url, redis_url, **overrides)
        from brisk.app import create_app

        app = create_app(settings)
        async with LifespanManager(app) as manager:

            def client_from(address: str) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
                return httpx.AsyncClient(transport=transport, base_url="http://brisk.test")

            yield client_from

    return start


def login(email: str) -> dict[str, Any]:
    return {"user": {"email": email, "password": "wrong-password"}}


def limits(**spend: str) -> dict[str, Any]:
    generous = {
        "enabled": True,
        "login_per_address": "1000/minute",
        "login_per_account": "1000/minute",
        "register_per_address": "1000/minute",
        "register_per_account": "1000/minute",
    }
    return {"limits": {**generous, **spend}}


def assert_limited(response: httpx.Response, window_seconds: int = 60) -> None:
    messages = assert_error(response, 429)
    assert "too many" in messages[0]
    assert 1 <= int(response.headers["retry-after"]) <= window_seconds


async def test_login_is_limited_per_address(brisk_app: Clients) -> None:
    async with (
        brisk_app(**limits(login_per_address="3/minute")) as client_from,
        client_from("10.0.0.1") as one,
        client_from("10.0.0.2") as two,
    ):
        for k in range(3):
            assert_error(await one.post(LOGIN, json=login(f"u{k}@x.io")), 401)
        assert_limited(await one.post(LOGIN, json=login("u9@x.io")))
        # Refused attempts are not counted: still refused, still with a bounded wait.
        assert_limited(await one.post(LOGIN, json=login("u8@x.io")))
        assert_error(await two.post(LOGIN, json=login("u0@x.io")), 401)


async def test_login_is_limited_per_account(brisk_app: Clients) -> None:
    async with brisk_app(**limits(login_per_account="3/minute")) as client_from:
        for k in range(3):
            async with client_from(f"10.0.1.{k}") as client:
                assert_error(await client.post(LOGIN, json=login("jake@x.io")), 401)
        async with client_from("10.0.1.99") as client:
            # The same account however it is spelled, from yet another address.
            assert_limited(await client.post(LOGIN, json=login("JAKE@x.io")))
            assert_error(await client.post(LOGIN, json=login("anna@x.io")), 401)


async def test_register_is_limited_and_a_refused_one_writes_nothing(
    brisk_app: Clients, db: asyncpg.Connection
) -> None:
    async with (
        brisk_app(**limits(register_per_address="2/minute")) as client_from,
        client_from("10.0.2.1") as client,
    ):
        for name in ("reg1", "reg2"):
            body = {"user": {"username": name, "email": f"{name}@x.io", "password": "p" * 8}}
            assert (await client.post("/api/users", json=body)).status_code == 201
        before = await table_counts(db)
        body = {"user": {"username": "reg3", "email": "reg3@x.io", "password": "p" * 8}}
        assert_limited(await client.post("/api/users", json=body))
        assert await table_counts(db) == before


async def test_register_is_limited_per_account(brisk_app: Clients) -> None:
    """Probing whether one email is taken, from many addresses."""
    async with brisk_app(**limits(register_per_account="2/minute")) as client_from:
        body = {"user": {"username": "same", "email": "same@x.io", "password": "p" * 8}}
        statuses = []
        for k in range(3):
            async with client_from(f"10.0.3.{k}") as client:
                statuses.append((await client.post("/api/users", json=body)).status_code)
        assert statuses == [201, 422, 429]


async def test_limits_are_shared_by_every_instance(brisk_app: Clients) -> None:
    """Two apps (two Redis clients, as two processes would have) count into the same window."""
    spend = limits(login_per_address="4/minute")
    async with (
        brisk_app(**spend) as first,
        brisk_app(**spend) as second,
        first("10.0.4.1") as a,
        second("10.0.4.1") as b,
    ):
        for client in (a, b, a, b):
            assert_error(await client.post(LOGIN, json=login("x@x.io")), 401)
        assert_limited(await a.post(LOGIN, json=login("x@x.io")))
        assert_limited(await b.post(LOGIN, json=login("x@x.io")))


async def test_namespaces_keep_deployments_apart(brisk_app: Clients) -> None:
    spend = limits(login_per_address="1/minute")
    other = {**spend, "cache": {"namespace": f"t-other-{secrets.token_hex(4)}"}}
    async with (
        brisk_app(**spend) as first,
        brisk_app(**other) as second,
        first("10.0.5.1") as a,
        second("10.0.5.1") as b,
    ):
        assert_error(await a.post(LOGIN, json=login("x@x.io")), 401)
        assert_limited(await a.post(LOGIN, json=login("x@x.io")))
        assert_error(await b.post(LOGIN, json=login("x@x.io")), 401)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_fails_open(brisk_app: Clients) -> None:
    """No Redis: logins are still answered (here 401, wrong password) past the limit, never 429
    or 5xx; after the first failure the limits are skipped, so no request waits on Redis."""
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    async with (
        brisk_app(redis_url=dead, **limits(login_per_address="2/minute")) as client_from,
        client_from("10.0.6.1") as client,
    ):
        for _ in range(5):
            assert_error(await client.post(LOGIN, json=login("x@x.io")), 401)


async def test_forwarded_for_is_believed_only_from_trusted_proxies(brisk_app: Clients) -> None:
    settings = {
        **limits(login_per_address="2/minute"),
        "http": {"trusted_proxies": ["10.9.0.0/24"]},
    }
    async with brisk_app(**settings) as client_from, client_from("10.9.0.5") as proxy:
        # Behind the proxy, each client has its own count ...
        for k in range(4):
            headers = {"X-Forwarded-For": f"203.0.113.{k}"}
            response = await proxy.post(LOGIN, json=login("a@x.io"), headers=headers)
            assert_error(response, 401)
        # ... and the proxy's own address is not what is counted.
        spoofed = {"X-Forwarded-For": "203.0.113.0"}
        await proxy.post(LOGIN, json=login("a@x.io"), headers=spoofed)
        limited = await proxy.post(LOGIN, json=login("a@x.io"), headers=spoofed)
        assert_limited(limited)
        async with client_from("198.51.100.7") as direct:
            # Anyone else's X-Forwarded-For is ignored: rotating it does not escape the limit.
            statuses = []
            for k in range(3):
                headers = {"X-Forwarded-For": f"192.0.2.{k}"}
                response = await direct.post(LOGIN, json=login("b@x.io"), headers=headers)
                statuses.append(response.status_code)
            assert statuses == [401, 401, 429]


def _token(secret: str, user_id: int, ttl: int = 3600) -> str:
    now = int(time.time())
    return jwt.encode({"sub": str(user_id), "iat": now, "exp": now + ttl}, secret, "HS256")


async def test_rotated_secret_tokens_work_until_the_cutoff(
    brisk_app: Clients, db: asyncpg.Connection
) -> None:
    user_id = await db.fetchval(
        "INSERT INTO users (username, email, password_hash) VALUES ('rot', 'rot@x.io', 'x') "
        "RETURNING id"
    )
    old = {"Authorization": f"Token {_token(OLD_SECRET, user_id)}"}
    current = {"Authorization": f"Token {_token(TEST_SECRET, user_id)}"}
    stranger = {"Authorization": f"Token {_token('n' * 48, user_id)}"}
    grace = {"auth": {"previous_secret_keys": [OLD_SECRET]}}
    async with brisk_app(**grace) as client_from, client_from("10.0.7.1") as client:
        assert (await client.get("/api/user", headers=old)).json()["user"]["username"] == "rot"
        assert (await client.get("/api/user", headers=current)).status_code == 200
        assert_error(await client.get("/api/user", headers=stranger), 401)
        # A new token is always signed with the current secret.
        issued = (await client.get("/api/user", headers=old)).json()["user"]["token"]
        assert issued == old["Authorization"].split()[1]  # the user's own token is echoed back

    past = datetime.now(UTC) - timedelta(seconds=1)
    cutoff = {"auth": {"previous_secret_keys": [OLD_SECRET], "previous_secrets_valid_until": past}}
    async with brisk_app(**cutoff) as client_from, client_from("10.0.7.1") as client:
        messages = assert_error(await client.get("/api/user", headers=old), 401)
        assert "expired" in messages[0]
        assert (await client.get("/api/user", headers=current)).status_code == 200

    async with brisk_app() as client_from, client_from("10.0.7.1") as client:
        assert_error(await client.get("/api/user", headers=old), 401)  # rotation finished
