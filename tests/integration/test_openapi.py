"""The OpenAPI document says what the server does (the fuzz test holds it to that)."""

from __future__ import annotations

import httpx

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
