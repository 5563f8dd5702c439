"""/docs and /redoc load every script, style and icon from brisk itself: they work offline."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*['"]([^"']+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_names_no_other_host(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "://" not in html, "an absolute URL: another host"
    referenced = {a or b for a, b in REFERENCE.findall(html)}
    assert "/openapi.json" in referenced
    assets = {url for url in referenced if url != "/openapi.json"}
    assert assets, "the page loads its scripts from somewhere"
    for url in assets:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url  # the real file, not an error page


async def test_swagger_ui_does_not_call_the_online_validator(client: httpx.AsyncClient) -> None:
    assert '"validatorUrl": null' in (await client.get("/docs")).text
