"""Usernames and tags that look the same are the same (issue 14, ADR 0015): no registering
`ALICE`, fullwidth, Cyrillic or zero-width variants beside `alice`, no blank names, lookups in
URLs fold the same way, and tags are normalised and deduplicated."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from brisk.db.migrations import MIGRATIONS_DIR, migrate
from tests.conftest import with_database
from tests.integration.conftest import Api, assert_error

FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"
CYRILLIC_A_LICE = "\u0430lice"  # CYRILLIC SMALL LETTER A, then Latin
NFC_JOSE = "Jos\u00e9"
NFD_JOSE = "Jose\u0301"

IMPERSONATIONS = {
    "capital": "Alice",
    "upper": "ALICE",
    "fullwidth": FULLWIDTH_ALICE,
    "cyrillic-a": CYRILLIC_A_LICE,
    "zero-width-joiner": "alice\u200d",
    "zero-width-space": "ali\u200bce",
    "soft-hyphen": "al\u00adice",
    "word-joiner": "\u2060alice",
    "variation-selector": "alice\ufe0f",
    "bidi-override": "\u202ealice",
}
BLANK = {
    "hangul-filler": "\u3164",
    "halfwidth-hangul-filler": "\uffa0",
    "hangul-choseong-filler": "\u115f\u1160",
    "zero-width-only": "\u200b\u200c",
    "braille-blank": "\u2800",
    "combining-mark-only": "\u0301",
}


async def _register(client: httpx.AsyncClient, username: str, email: str) -> httpx.Response:
    body = {"user": {"username": username, "email": email, "password": "password123"}}
    return await client.post("/api/users", json=body)


@pytest.mark.parametrize("case", list(IMPERSONATIONS))
async def test_no_lookalike_registers_beside_alice(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, case: str
) -> None:
    await api.register("alice")
    response = await _register(client, IMPERSONATIONS[case], "other@example.com")
    assert_error(response, 422)
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_nfc_and_nfd_are_one_name(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    assert (await _register(client, NFD_JOSE, "a@example.com")).status_code == 201
    assert_error(await _register(client, NFC_JOSE, "b@example.com"), 422)
    assert await db.fetchval("SELECT username FROM users") == NFC_JOSE  # stored composed


@pytest.mark.parametrize("case", list(BLANK))
async def test_blank_names_are_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection, case: str
) -> None:
    assert_error(await _register(client, BLANK[case], "blank@example.com"), 422)
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_renaming_into_a_lookalike_is_refused(client: httpx.AsyncClient, api: Api) -> None:
    await api.register("alice")
    bob = await api.register("bob")
    for name in ("ALICE", FULLWIDTH_ALICE, "alice\u200d"):
        body = {"user": {"username": name}}
        assert_error(await client.put("/api/user", json=body, headers=bob.auth), 422)
    renamed = await client.put("/api/user", json={"user": {"username": "Bobby"}}, headers=bob.auth)
    assert renamed.json()["user"]["username"] == "Bobby"  # the case is kept as given


async def test_single_script_and_cjk_names_still_register(client: httpx.AsyncClient) -> None:
    for i, name in enumerate(["андрей", "γιώργος", "山田太郎", "やまだ", "kim민준", "zoë-42"]):
        response = await _register(client, name, f"u{i}@example.com")
        assert response.status_code == 201, (name, response.text)
        assert response.json()["user"]["username"] == name


async def test_lookups_by_username_fold_the_same_way(client: httpx.AsyncClient, api: Api) -> None:
    alice = await api.register("Alice")
    await api.create_article(alice, "hers")
    for spelling in ("Alice", "alice", "ALICE", FULLWIDTH_ALICE):
        profile = await client.get(f"/api/profiles/{quote(spelling)}")
        assert profile.status_code == 200, (spelling, profile.text)
        assert profile.json()["profile"]["username"] == "Alice"
        listed = await client.get("/api/articles", params={"author": spelling})
        assert listed.json()["articlesCount"] == 1, spelling
    # An edit drops every spelling's cached copy, not only the stored name's.
    edited = await client.put("/api/user", json={"user": {"bio": "new"}}, headers=alice.auth)
    assert edited.status_code == 200, edited.text
    for spelling in ("Alice", "ALICE", FULLWIDTH_ALICE):
        profile = await client.get(f"/api/profiles/{quote(spelling)}")
        assert profile.json()["profile"]["bio"] == "new", spelling


async def test_tags_are_normalised_and_deduplicated(client: httpx.AsyncClient, api: Api) -> None:
    author = await api.register("tagger")
    fullwidth = "\uff44\uff52\uff41\uff47\uff4f\uff4e\uff53"
    article = await api.create_article(author, "t", ["Dragons", "DRAGONS", fullwidth, "dragons"])
    assert article["tagList"] == ["dragons"]
    assert (await client.get("/api/tags")).json()["tags"] == ["dragons"]
    for spelling in ("DRAGONS", fullwidth):
        listed = await client.get("/api/articles", params={"tag": spelling})
        assert listed.json()["articlesCount"] == 1, spelling


@pytest.mark.parametrize("tag", ["\u200b", "drag\u200bons", "\u2060", "x\u200d", "\ufeff"])
async def test_invisible_tags_are_refused(client: httpx.AsyncClient, api: Api, tag: str) -> None:
    author = await api.register("tagger")
    body = {"article": {"title": "t", "description": "d", "body": "b", "tagList": [tag]}}
    assert_error(await client.post("/api/articles", json=body, headers=author.auth), 422)


async def test_the_migration_names_existing_clashes(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    """Rows from before the rule that it would merge: the migration says which, changes nothing."""
    admin_url = servers[0]
    name = f"brisk_clash_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    try:
        before = tmp_path / "migrations"
        before.mkdir()
        for migration in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if migration.name < "0012":
                shutil.copy(migration, before)
        await migrate(url, before)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO users (username, email, password_hash) "
                "VALUES ('Bob', 'b1@example.com', 'x'), ('bob', 'b2@example.com', 'x')"
            )
            with pytest.raises(asyncpg.RaiseError, match="Bob, bob"):
                await migrate(url)
            assert await conn.fetchval("SELECT count(*) FROM users") == 2
            await conn.execute("UPDATE users SET username = 'bob2' WHERE username = 'bob'")
            await migrate(url)  # resolved: it applies
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
