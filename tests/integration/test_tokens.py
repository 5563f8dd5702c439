"""Tokens: a missing, malformed, expired, forged or wrong-algorithm token is a 401 with the error
envelope and a WWW-Authenticate header, on protected and optional-auth endpoints alike (a bad
token is never silently treated as anonymous), and a refused request changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from brisk.services import Services
from tests.conftest import TEST_SECRET
from tests.integration.conftest import (
    Api,
    ApiUser,
    assert_error,
    quick_user,
    snapshot,
)

OTHER_SECRET = "another-secret-" + "y" * 40
ARABIC = "٠١٢٣٤٥٦٧٨٩"  # ARABIC-INDIC DIGIT ZERO..NINE: int() reads them as 0..9


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(sub: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 3600, **changes}


def sign(payload: dict[str, Any], key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def unsigned(payload: dict[str, Any]) -> str:
    """alg "none": header and payload, empty signature."""
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(payload)}."


def hs512(payload: dict[str, Any]) -> str:
    """Our secret, a stronger algorithm than the server accepts: still not our token."""
    with warnings.catch_warnings():  # the test secret is shorter than SHA-512 would like
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = sign(payload, algorithm="HS512")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS512"
    return token


def flip_signature_char(token: str) -> str:
    """Change a character in the middle of the signature (the last one may only hold padding
    bits, which base64 decoders ignore: flipping it could leave the signature valid)."""
    head, payload, signature = token.split(".")
    i = len(signature) // 2
    swapped = "A" if signature[i] != "A" else "B"
    return f"{head}.{payload}.{signature[:i]}{swapped}{signature[i + 1 :]}"


def with_sub(token: str, sub: str) -> str:
    """Rewrite the payload's sub and keep the original signature."""
    head, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{head}.{b64url_json({**decoded, 'sub': sub})}.{signature}"


def hand_signed_hs256(payload: dict[str, Any], key: str = TEST_SECRET) -> str:
    head = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT'})}.{b64url_json(payload)}"
    mac = hmac.new(key.encode(), head.encode(), hashlib.sha256).digest()
    return f"{head}.{b64url(mac)}"


def assert_unauthorized(response: httpx.Response) -> list[str]:
    messages = assert_error(response, 401)
    assert response.headers.get("www-authenticate", "").startswith("Token"), response.headers
    return messages


@dataclass
class World:
    jake: ApiUser
    jake_id: int
    anna: ApiUser
    anna_id: int
    slug: str
    comment_id: int


@pytest.fixture
async def world(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, services: Services
) -> World:
    """jake wrote an article; anna commented on it."""
    jake = await quick_user(db, services, "jake")
    anna = await quick_user(db, services, "anna")
    slug = (await api.create_article(jake, "Dragons", ["a"]))["slug"]
    response = await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=anna.auth
    )
    assert response.status_code == 200, response.text
    ids = dict(await db.fetch("SELECT username, id FROM users"))
    return World(jake, ids["jake"], anna, ids["anna"], slug, response.json()["comment"]["id"])


# ---------------------------------------------------------------------------------------------
# Every protected endpoint refuses a request without a token

# id -> (method, path, JSON body); the resources exist, so a 401 is about the token only
PROTECTED: dict[str, tuple[str, str, Any]] = {
    "get-user": ("GET", "/api/user", None),
    "update-user": ("PUT", "/api/user", {"user": {"bio": "x"}}),
    "feed": ("GET", "/api/articles/feed", None),
    "create-article": (
        "POST",
        "/api/articles",
        {"article": {"title": "T", "description": "D", "body": "B"}},
    ),
    "update-article": ("PUT", "/api/articles/{slug}", {"article": {"body": "x"}}),
    "delete-article": ("DELETE", "/api/articles/{slug}", None),
    "favorite": ("POST", "/api/articles/{slug}/favorite", None),
    "unfavorite": ("DELETE", "/api/articles/{slug}/favorite", None),
    "add-comment": ("POST", "/api/articles/{slug}/comments", {"comment": {"body": "x"}}),
    "delete-comment": ("DELETE", "/api/articles/{slug}/comments/{comment}", None),
    "follow": ("POST", "/api/profiles/jake/follow", None),
    "unfollow": ("DELETE", "/api/profiles/jake/follow", None),
}


def url(world: World, template: str) -> str:
    return template.format(slug=world.slug, comment=world.comment_id)


@pytest.mark.parametrize("endpoint", list(PROTECTED))
async def test_missing_authorization_is_401(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, endpoint: str
) -> None:
    method, path, body = PROTECTED[endpoint]
    before = await snapshot(db)
    assert_unauthorized(await client.request(method, url(world, path), json=body))
    assert await snapshot(db) == before


# ---------------------------------------------------------------------------------------------
# Bad Authorization headers: id -> header value, given the world (for tokens naming real users)

BAD_AUTHORIZATION: dict[str, Callable[[World], str]] = {
    "basic-scheme": lambda w: "Basic xyz",
    "basic-scheme-valid-jwt": lambda w: f"Basic {w.jake.token}",
    "token-empty": lambda w: "Token ",
    "token-scheme-only": lambda w: "Token",
    "jwt-without-scheme": lambda w: w.jake.token,
    "not-a-jwt": lambda w: "Token abc",
    "three-garbage-parts": lambda w: "Token a.b.c",
    "jwt-with-trailing-junk": lambda w: f"Token {w.jake.token} extra",
    "expired": lambda w: (
        "Token "
        + sign(claims(str(w.jake_id), iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    ),
    "not-yet-valid": lambda w: "Token " + sign(claims(str(w.jake_id), nbf=int(time.time()) + 3600)),
    "signature-char-flipped": lambda w: "Token " + flip_signature_char(w.jake.token),
    "signature-stripped": lambda w: "Token " + w.jake.token.rsplit(".", 1)[0] + ".",
    "payload-sub-changed": lambda w: "Token " + with_sub(w.jake.token, str(w.anna_id)),
    "other-secret": lambda w: "Token " + sign(claims(str(w.jake_id)), key=OTHER_SECRET),
    "other-secret-by-hand": lambda w: (
        "Token " + hand_signed_hs256(claims(str(w.jake_id)), key=OTHER_SECRET)
    ),
    "alg-none": lambda w: "Token " + unsigned(claims(str(w.jake_id))),
    "alg-hs512-same-secret": lambda w: "Token " + hs512(claims(str(w.jake_id))),
    "sub-not-an-integer": lambda w: "Token " + sign(claims("jake")),
    "sub-a-fraction": lambda w: "Token " + sign(claims("1.5")),
    "sub-a-json-number": lambda w: "Token " + sign(claims(w.jake_id)),
    "sub-beyond-bigint": lambda w: "Token " + sign(claims(str(2**70))),
    # Other spellings of a real user's id, which int() accepts: only the canonical one counts.
    "sub-padded": lambda w: "Token " + sign(claims(f" {w.jake_id} ")),
    "sub-plus-sign": lambda w: "Token " + sign(claims(f"+{w.jake_id}")),
    "sub-leading-zero": lambda w: "Token " + sign(claims(f"0{w.jake_id}")),
    "sub-underscore": lambda w: "Token " + sign(claims(f"0_{w.jake_id}")),
    "sub-arabic-indic-digits": lambda w: (
        "Token " + sign(claims(str(w.jake_id).translate(str.maketrans("0123456789", ARABIC))))
    ),
    "gen-not-a-number": lambda w: "Token " + sign(claims(str(w.jake_id), gen="0")),
    "sub-missing": lambda w: (
        "Token " + sign({k: v for k, v in claims(str(w.jake_id)).items() if k != "sub"})
    ),
    "exp-missing": lambda w: (
        "Token " + sign({k: v for k, v in claims(str(w.jake_id)).items() if k != "exp"})
    ),
    "iat-missing": lambda w: (
        "Token " + sign({k: v for k, v in claims(str(w.jake_id)).items() if k != "iat"})
    ),
    "exp-not-a-number": lambda w: "Token " + sign(claims(str(w.jake_id), exp="tomorrow")),
}


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
async def test_bad_token_is_401_everywhere(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, case: str
) -> None:
    headers = {"Authorization": BAD_AUTHORIZATION[case](world)}
    before = await snapshot(db)
    # a protected read, an optional-auth read (never downgraded to anonymous) and a write
    assert_unauthorized(await client.get("/api/user", headers=headers))
    assert_unauthorized(await client.get("/api/articles", headers=headers))
    article = {"article": {"title": "T", "description": "D", "body": "B"}}
    assert_unauthorized(await client.post("/api/articles", json=article, headers=headers))
    assert_unauthorized(await client.post(f"/api/articles/{world.slug}/favorite", headers=headers))
    assert await snapshot(db) == before


async def test_expired_token_says_so(client: httpx.AsyncClient, world: World) -> None:
    past = int(time.time()) - 60
    token = sign(claims(str(world.jake_id), iat=past - 3600, exp=past))
    messages = assert_unauthorized(
        await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    )
    assert any("expired" in m for m in messages), messages


OPTIONAL_AUTH = [
    "/api/tags",  # the viewer changes nothing there, and a bad token is still a 401
    "/api/articles",
    "/api/articles?author=jake",
    "/api/articles/{slug}",
    "/api/articles/{slug}/comments",
    "/api/profiles/jake",
]


@pytest.mark.parametrize("path", OPTIONAL_AUTH)
@pytest.mark.parametrize("case", ["not-a-jwt", "expired", "signature-char-flipped", "alg-none"])
async def test_bad_token_on_optional_auth_endpoint_is_401(
    client: httpx.AsyncClient, world: World, path: str, case: str
) -> None:
    target = url(world, path)
    assert (await client.get(target)).status_code == 200  # anonymous is fine...
    headers = {"Authorization": BAD_AUTHORIZATION[case](world)}
    assert_unauthorized(await client.get(target, headers=headers))  # ...a bad token is not


async def test_good_tokens_are_accepted_under_either_scheme(
    client: httpx.AsyncClient, world: World
) -> None:
    """Controls for the cases above: the same requests succeed with a sound token."""
    token = world.jake.token
    for header in (f"Token {token}", f"token {token}", f"Bearer {token}"):
        response = await client.get("/api/user", headers={"Authorization": header})
        assert response.status_code == 200, (header, response.text)
        assert response.json()["user"]["username"] == "jake"
    fresh = sign(claims(str(world.anna_id)))
    response = await client.get("/api/user", headers={"Authorization": f"Token {fresh}"})
    assert response.json()["user"]["username"] == "anna"
    by_hand = hand_signed_hs256(claims(str(world.anna_id)))
    response = await client.get("/api/user", headers={"Authorization": f"Token {by_hand}"})
    assert response.json()["user"]["username"] == "anna"


# ---------------------------------------------------------------------------------------------
# A sound token for a user that does not exist (deleted after the token was issued)


@pytest.fixture
async def ghost(db: asyncpg.Connection, services: Services) -> ApiUser:
    user = await quick_user(db, services, "ghost")
    await db.execute("DELETE FROM users WHERE username = 'ghost'")
    return user


async def test_token_of_a_deleted_user_reading_itself_is_404(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, ghost: ApiUser
) -> None:
    messages = assert_error(await client.get("/api/user", headers=ghost.auth), 404)
    assert any("user not found" in m for m in messages), messages
    before = await snapshot(db)
    body = {"user": {"bio": "boo"}}
    assert_error(await client.put("/api/user", json=body, headers=ghost.auth), 404)
    assert await snapshot(db) == before


# The writes that insert a row pointing at the viewer (author, follower, favoriting user).
GHOST_WRITES: dict[str, tuple[str, str, Any]] = {
    "create-article": PROTECTED["create-article"],
    "add-comment": PROTECTED["add-comment"],
    "favorite": PROTECTED["favorite"],
    "follow": PROTECTED["follow"],
}


@pytest.mark.parametrize("endpoint", list(GHOST_WRITES))
async def test_token_of_a_deleted_user_cannot_write(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, ghost: ApiUser, endpoint: str
) -> None:
    """Not a 500 from the foreign key: 404 (the user is gone, as GET /api/user says) or 401."""
    method, path, body = GHOST_WRITES[endpoint]
    before = await snapshot(db)
    response = await client.request(method, url(world, path), json=body, headers=ghost.auth)
    assert response.status_code in (401, 404), response.text
    assert_error(response, response.status_code)
    assert await snapshot(db) == before


# ---------------------------------------------------------------------------------------------
# A password change revokes every token issued before it


async def test_password_change_revokes_earlier_tokens(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    alice = await api.register("alice", password="first-password")
    first, second = alice.token, (await _login(client, alice.email, "first-password"))
    # Warm every cached path with the old token: the generation is cached like the rest.
    for token in (first, second):
        auth = {"Authorization": f"Token {token}"}
        assert (await client.get("/api/user", headers=auth)).status_code == 200
        assert (await client.get("/api/dashboard", headers=auth)).status_code == 200
        assert (await client.get("/api/dashboard", headers=auth)).status_code == 200  # L1 hit

    changed = await client.put(
        "/api/user",
        json={"user": {"password": "second-password"}},
        headers={"Authorization": f"Token {first}"},
    )
    assert changed.status_code == 200, changed.text
    renewed = changed.json()["user"]["token"]
    assert renewed not in (first, second)

    for token in (first, second):  # revoked: the full path and the L1 fast path alike
        auth = {"Authorization": f"Token {token}"}
        assert_unauthorized(await client.get("/api/user", headers=auth))
        assert_unauthorized(await client.get("/api/dashboard", headers=auth))
        assert_unauthorized(await client.get("/api/articles", headers=auth))
    for token in (renewed, await _login(client, alice.email, "second-password")):
        auth = {"Authorization": f"Token {token}"}
        assert (await client.get("/api/user", headers=auth)).status_code == 200
        assert (await client.get("/api/dashboard", headers=auth)).status_code == 200
    # A profile edit without a new password keeps the tokens valid.
    auth = {"Authorization": f"Token {renewed}"}
    edited = await client.put("/api/user", json={"user": {"bio": "hi"}}, headers=auth)
    assert edited.status_code == 200, edited.text
    assert edited.json()["user"]["token"] == renewed
    assert (await client.get("/api/user", headers=auth)).status_code == 200


async def _login(client: httpx.AsyncClient, email: str, password: str) -> str:
    body = {"user": {"email": email, "password": password}}
    response = await client.post("/api/users/login", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["user"]["token"])
