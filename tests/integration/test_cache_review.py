"""Review findings on the composed cache and the signed-in fast path (ADR 0020): each test
failed before its fix."""

from __future__ import annotations

import unicodedata

import asyncpg
import httpx
import pytest

from brisk import names
from tests.integration.conftest import Api


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("ivan", "\u0130van"),  # İ: Python lowers it to i + combining dot, PostgreSQL to i
        ("\u03bf\u03b4\u03bf\u03c3", "\u039f\u0394\u039f\u03a3"),  # ΟΔΟΣ: Python's final sigma
    ],
)
async def test_a_profile_edit_drops_every_spelling_the_database_resolves(
    client: httpx.AsyncClient, api: Api, name: str, spelling: str
) -> None:
    """The profile key must fold a name as the database's username_key() does: every spelling
    the route resolves to the user shares the key the user's edit drops."""
    user = await api.register(name)
    first = await client.get(f"/api/profiles/{spelling}")
    assert first.status_code == 200, first.text  # the database finds the user by this spelling
    assert first.json()["profile"]["bio"] == ""
    edited = await client.put("/api/user", json={"user": {"bio": "new"}}, headers=user.auth)
    assert edited.status_code == 200, edited.text
    for url in (f"/api/profiles/{spelling}", f"/api/profiles/{name}"):
        assert (await client.get(url)).json()["profile"]["bio"] == "new", url


async def test_the_cache_folds_every_name_as_the_database_does(db: asyncpg.Connection) -> None:
    """names.key() against username_key() itself: every letter, mark and digit alone, and words
    where lowering depends on context."""
    words = [
        chr(code)
        for code in range(0x20, 0x30000)
        if unicodedata.category(chr(code))[0] in "LMN" and not 0xD800 <= code < 0xE000
    ]
    words += ["\u039f\u0394\u039f\u03a3", "\u03a3\u0391\u03a3", "\u0130STANBUL"]
    rows = await db.fetch("SELECT w, username_key(w) AS k FROM unnest($1::text[]) w", words)
    assert len(rows) == len(words)
    differ = [(r["w"], names.key(r["w"]), r["k"]) for r in rows if names.key(r["w"]) != r["k"]]
    assert differ == []


async def test_the_fast_path_refuses_a_username_the_route_refuses(
    client: httpx.AsyncClient, api: Api
) -> None:
    """A path that folds to a cached name but is longer than the route allows is the route's
    to refuse (422), not the fast path's to answer 200."""
    name = "\u00e9" * 33
    await api.register(name)
    assert (await client.get(f"/api/profiles/{name}")).status_code == 200  # now in L1
    decomposed = unicodedata.normalize("NFD", name)  # 66 code points, the same name folded
    assert len(decomposed) > 64
    response = await client.get(f"/api/profiles/{decomposed}")
    assert response.status_code == 422, response.text
