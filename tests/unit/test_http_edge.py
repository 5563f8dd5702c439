"""The HTTP edge without a database: error envelope, body cap, auth header parsing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from brisk.api.errors import install_error_handlers
from brisk.api.limits import BodySizeLimit
from brisk.errors import NotFoundError, ServiceUnavailableError
from brisk.users.schemas import UserCreateRequest

LIMIT = 2048


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(body: UserCreateRequest) -> dict[str, str]:
        return {"username": body.user.username}

    @app.get("/missing")
    async def missing() -> None:
        raise NotFoundError("article")

    @app.get("/busy")
    async def busy() -> None:
        raise ServiceUnavailableError("the database is busy", retry_after_seconds=2)

    app.add_middleware(BodySizeLimit, max_body_bytes=LIMIT)
    return app


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t")


async def test_domain_errors_use_the_realworld_envelope() -> None:
    async with _client() as client:
        missing = await client.get("/missing")
        busy = await client.get("/busy")
    assert (missing.status_code, missing.json()) == (
        404,
        {"errors": {"body": ["article not found"]}},
    )
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "2")


async def test_validation_errors_name_the_field() -> None:
    async with _client() as client:
        response = await client.post("/echo", json={"user": {"username": "x", "email": "bad"}})
        broken = await client.post(
            "/echo", content=b"{not json", headers={"content-type": "application/json"}
        )
    messages = response.json()["errors"]["body"]
    assert response.status_code == 422
    assert any(m.startswith("user.email") for m in messages)
    assert any(m.startswith("user.password") for m in messages)
    assert broken.status_code == 422
    assert broken.json() == {"errors": {"body": ["request body is not valid JSON"]}}


async def test_body_cap_by_length_and_by_stream() -> None:
    big = b'{"user": {"username": "' + b"x" * LIMIT + b'"}}'

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    async with _client() as client:
        declared = await client.post(
            "/echo", content=big, headers={"content-type": "application/json"}
        )
        streamed = await client.post(
            "/echo", content=chunks(), headers={"content-type": "application/json"}
        )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "at most 2048 bytes" in response.json()["errors"]["body"][0]
