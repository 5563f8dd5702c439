"""A client generated from /openapi.json by openapi-python-client (a maintained generator from
PyPI) talks to the API: its methods are named after the RealWorld operationIds and it
authenticates with the `Token` scheme the document declares."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

PACKAGE = "brisk_generated_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate(document: Path, into: Path) -> None:
    config = into.parent / "generator.json"
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))
    command = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none"]
    command += ["--output-path", str(into), "--config", str(config)]
    command += ["--fail-on-warning"]  # every operation and schema became code
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
async def generated(client: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[ModuleType]:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps((await client.get("/openapi.json")).json()))
    await asyncio.to_thread(generate, document, tmp_path / PACKAGE)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


async def test_a_generated_client_registers_logs_in_and_writes(
    generated: ModuleType, app_and_services: tuple[Any, Any]
) -> None:
    base = "http://brisk.test"
    transport = {"transport": httpx.ASGITransport(app=app_and_services[0])}  # in process
    anonymous = generated.Client(base_url=base, httpx_args=transport)
    models = _models()
    name = "gen" + uuid.uuid4().hex[:10]
    email, password = f"{name}@example.com", "password123"

    created = await _api("users.create_user").asyncio_detailed(
        client=anonymous,
        body=models.UserCreateRequest(models.UserCreate(name, email, password)),
    )
    assert created.status_code == 201
    assert created.parsed.user.username == name

    logged_in = await _api("users.login").asyncio(
        client=anonymous, body=models.UserLoginRequest(models.UserLogin(email, password))
    )
    token = logged_in.user.token

    authed = generated.AuthenticatedClient(
        base_url=base, token=token, prefix="Token", httpx_args=transport
    )
    current = _api("users.get_current_user")
    assert (await current.asyncio(client=authed)).user.email == email

    create_article = _api("articles.create_article")
    article = models.ArticleCreate("Generated", "from a client", "body", tag_list=["generated"])
    made = await create_article.asyncio_detailed(
        client=authed, body=models.ArticleCreateRequest(article)
    )
    assert made.status_code == 201
    slug = made.parsed.article.slug

    fetched = await _api("articles.get_article").asyncio(slug, client=authed)
    assert fetched.article.tag_list == ["generated"]
    assert fetched.article.author.username == name
    assert "generated" in (await _api("tags.get_tags").asyncio(client=anonymous)).tags

    # Without the token the same call is refused, in the documented error shape.
    refused = await current.asyncio_detailed(client=anonymous)
    assert refused.status_code == 401
    assert refused.parsed.errors.body
