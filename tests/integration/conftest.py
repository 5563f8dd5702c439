"""Helpers for integration tests: register users and talk to the API as them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

pytestmark = pytest.mark.integration


@dataclass
class ApiUser:
    username: str
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


class Api:
    """Thin wrapper that registers users and checks the RealWorld error envelope."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, username: str, password: str = "password123") -> ApiUser:
        email = f"{username}@example.com"
        body = {"user": {"username": username, "email": email, "password": password}}
        response = await self.client.post("/api/users", json=body)
        assert response.status_code == 201, response.text
        return ApiUser(username, email, password, response.json()["user"]["token"])

    async def create_article(
        self, author: ApiUser, title: str, tags: list[str] | None = None
    ) -> Any:
        body = {"article": {"title": title, "description": "d", "body": "b", "tagList": tags or []}}
        response = await self.client.post("/api/articles", json=body, headers=author.auth)
        assert response.status_code == 201, response.text
        return response.json()["article"]


def assert_error(response: httpx.Response, status: int) -> list[str]:
    """The response is `status` in RealWorld's error format with at least one message."""
    assert response.status_code == status, response.text
    messages = response.json()["errors"]["body"]
    assert isinstance(messages, list)
    assert messages
    assert all(isinstance(m, str) and m for m in messages)
    return messages


async def table_counts(db: asyncpg.Connection) -> dict[str, int]:
    """Row counts of every table, to prove a rejected request changed nothing."""
    from tests.conftest import TABLES

    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
