"""The OpenAPI document says what the server does (the fuzz test holds it to that)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import yaml

from brisk.services import Services


async def test_every_api_operation_documents_its_errors(
    client: httpx.AsyncClient, services: Services
) -> None:
    schema = (await client.get("/openapi.json")).json()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        if path.startswith("/api/")
        for method, op in item.items()
    ]
    assert len(operations) == 23
    for method, path, op in operations:
        for status in ("401", "422", "503"):
            assert op["responses"][status]["content"]["application/json"]["schema"] == error
        assert "Retry-After" in op["responses"]["503"]["headers"]
        assert ("413" in op["responses"]) == ("requestBody" in op), (method, path)
        ok = next(s for s in op["responses"] if s.startswith("2"))
        if ok != "204":  # a real body schema, not FastAPI's {"type": "string"} placeholder
            body = op["responses"][ok]["content"]["application/json"]["schema"]
            assert "$ref" in body, (method, path)
            assert "type" not in body, (method, path)
    assert "429" in schema["paths"]["/api/users/login"]["post"]["responses"]
    assert "403" in schema["paths"]["/api/articles/{slug}"]["put"]["responses"]
    limit = next(
        p for p in schema["paths"]["/api/articles"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["anyOf"][0]["maximum"] == services.settings.http.max_page_size


async def test_method_not_allowed_names_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("PATCH", "/api/articles")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    response = await client.request("PATCH", "/api/articles/some-slug")
    assert set(response.headers["allow"].split(", ")) == {"DELETE", "GET", "PUT"}
    # /api/articles/feed is its own resource, though /api/articles/{slug} matches it too.
    response = await client.request("PATCH", "/api/articles/feed")
    assert response.headers["allow"] == "GET"


SPEC_DIR_VARIABLE = "BRISK_REALWORLD_DIR"  # as in tests/conformance: CI sets it


async def test_the_token_scheme_is_declared_and_used(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["Token"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    paths = schema["paths"]
    assert paths["/api/user"]["get"]["security"] == [{"Token": []}]
    assert paths["/api/articles/feed"]["get"]["security"] == [{"Token": []}]
    # A token personalises these, anonymous works too.
    assert paths["/api/articles"]["get"]["security"] == [{}, {"Token": []}]
    assert paths["/api/tags"]["get"]["security"] == [{}, {"Token": []}]  # a bad token is 401
    assert "security" not in paths["/api/users/login"]["post"]


async def test_register_documents_201_only(client: httpx.AsyncClient) -> None:
    responses = (await client.get("/openapi.json")).json()["paths"]["/api/users"]["post"]
    assert [s for s in responses["responses"] if s.startswith("2")] == ["201"]


async def test_operation_ids_are_the_realworld_specs(client: httpx.AsyncClient) -> None:
    location = os.environ.get(SPEC_DIR_VARIABLE)
    if not location:
        pytest.skip(f"{SPEC_DIR_VARIABLE} is not set: point it at the RealWorld api/ folder")
    spec = yaml.safe_load((Path(location) / "openapi.yml").read_text())
    wanted = {
        (method, f"/api{path}"): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    paths = (await client.get("/openapi.json")).json()["paths"]
    ours = {(m, p): op["operationId"] for p, item in paths.items() for m, op in item.items()}
    assert {key: ours.get(key) for key in wanted} == wanted
    assert len(set(ours.values())) == len(ours)  # unique, as generators need
