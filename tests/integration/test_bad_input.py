"""Bad input: every malformed, mistyped, missing, over-long, oversized, unknown, duplicate or
forbidden request gets a clear 4xx in RealWorld's error format (never a 500), and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from brisk.api.deps import FEED_MAX_OFFSET
from brisk.services import Services
from tests.integration.conftest import (
    Api,
    ApiUser,
    assert_error,
    quick_user,
    rejected,
    snapshot,
    table_counts,
)

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}

# ---------------------------------------------------------------------------------------------
# Helpers


@dataclass
class World:
    """jake wrote an article ("tagged a, b"), anna commented on it and favorited it."""

    jake: ApiUser
    anna: ApiUser
    slug: str
    comment_id: int

    def user(self, name: str | None) -> dict[str, str]:
        return {} if name is None else getattr(self, name).auth

    def path(self, template: str) -> str:
        return template.format(slug=self.slug, comment=self.comment_id)


@pytest.fixture
async def world(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, services: Services
) -> World:
    jake = await quick_user(db, services, "jake")
    anna = await quick_user(db, services, "anna")
    slug = (await api.create_article(jake, "Dragons", ["a", "b"]))["slug"]
    comment = await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "nice"}}, headers=anna.auth
    )
    assert comment.status_code == 200, comment.text
    favorite = await client.post(f"/api/articles/{slug}/favorite", headers=anna.auth)
    assert favorite.status_code == 200, favorite.text
    return World(jake, anna, slug, comment.json()["comment"]["id"])


def mentions(messages: list[str], *words: str) -> bool:
    text = " ".join(messages).lower()
    return all(w.lower() in text for w in words)


# ---------------------------------------------------------------------------------------------
# Malformed JSON

# (method, path, as whom, a valid body the malformed ones are derived from)
BODY_ENDPOINTS: dict[str, tuple[str, str, str | None, dict[str, Any]]] = {
    "register": (
        "POST",
        "/api/users",
        None,
        {"user": {"username": "zed", "email": "zed@example.com", "password": "password123"}},
    ),
    "login": (
        "POST",
        "/api/users/login",
        None,
        {"user": {"email": "jake@example.com", "password": "password123"}},
    ),
    "update-user": ("PUT", "/api/user", "jake", {"user": {"bio": "hello"}}),
    "create-article": (
        "POST",
        "/api/articles",
        "jake",
        {"article": {"title": "T", "description": "D", "body": "B", "tagList": ["t"]}},
    ),
    "update-article": ("PUT", "/api/articles/{slug}", "jake", {"article": {"body": "new"}}),
    "add-comment": ("POST", "/api/articles/{slug}/comments", "anna", {"comment": {"body": "hi"}}),
}


def _truncated(valid: dict[str, Any]) -> bytes:
    text = json.dumps(valid).encode()
    return text[: len(text) // 2]


MALFORMED_JSON = {
    "truncated": _truncated,
    "not-json": lambda _: b"username=jake&password=password123",
    "single-quoted": lambda v: json.dumps(v).replace('"', "'").encode(),
    "trailing-garbage": lambda v: json.dumps(v).encode() + b"}",
    "array-not-object": lambda v: json.dumps([v]).encode(),
    "json-null": lambda _: b"null",
    "json-string": lambda _: b'"hello"',
    "empty-body": lambda _: b"",
}


@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS))
@pytest.mark.parametrize("malformed", list(MALFORMED_JSON))
async def test_malformed_json_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, endpoint: str, malformed: str
) -> None:
    method, path, who, valid = BODY_ENDPOINTS[endpoint]
    content = MALFORMED_JSON[malformed](valid)
    headers = {**JSON, **world.user(who)}
    await rejected(db, client, 422, method, world.path(path), content=content, headers=headers)


# Bodies the JSON parser itself chokes on (not a json.JSONDecodeError): FastAPI answers 400.
UNPARSABLE = {
    "invalid-utf8": b'{"user": {"username": "\xff\xfe"}}',
    "nested-200k-deep": b"[" * 200_000,
    "5000-digit-number": b'{"user": {"username": ' + b"7" * 5000 + b"}}",
}


@pytest.mark.parametrize("endpoint", ["register", "create-article", "add-comment"])
@pytest.mark.parametrize("body", list(UNPARSABLE))
async def test_unparsable_body_is_a_client_error(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, endpoint: str, body: str
) -> None:
    method, path, who, _ = BODY_ENDPOINTS[endpoint]
    before = await snapshot(db)
    response = await client.request(
        method, world.path(path), content=UNPARSABLE[body], headers={**JSON, **world.user(who)}
    )
    assert response.status_code in (400, 422), response.text
    assert_error(response, response.status_code)
    assert await snapshot(db) == before


async def test_json_under_another_content_type_is_not_accepted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = {"user": {"username": "zed", "email": "zed@example.com", "password": "password123"}}
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        headers = {"content-type": content_type}
        await rejected(
            db, client, 422, "POST", "/api/users", content=json.dumps(body), headers=headers
        )


# ---------------------------------------------------------------------------------------------
# Wrong types, missing fields, missing envelope, empty strings, too long

USER = {"username": "zed", "email": "zed@example.com", "password": "password123"}
ARTICLE = {"title": "T", "description": "D", "body": "B", "tagList": ["t"]}


def user_with(**changes: Any) -> dict[str, Any]:
    return {"user": {**USER, **changes}}


def user_without(field: str) -> dict[str, Any]:
    return {"user": {k: v for k, v in USER.items() if k != field}}


def article_with(**changes: Any) -> dict[str, Any]:
    return {"article": {**ARTICLE, **changes}}


def article_without(field: str) -> dict[str, Any]:
    return {"article": {k: v for k, v in ARTICLE.items() if k != field}}


def comment(body: Any) -> dict[str, Any]:
    return {"comment": {"body": body}}


# id -> (endpoint from BODY_ENDPOINTS, JSON body, a word the error message must contain)
INVALID_BODIES: dict[str, tuple[str, Any, str]] = {
    # wrong types
    "register-username-number": ("register", user_with(username=123), "user.username"),
    "register-username-list": ("register", user_with(username=["zed"]), "user.username"),
    "register-email-object": ("register", user_with(email={"a": 1}), "user.email"),
    "register-password-number": ("register", user_with(password=12345678), "user.password"),
    "register-username-null": ("register", user_with(username=None), "user.username"),
    "register-email-null": ("register", user_with(email=None), "user.email"),
    "register-password-null": ("register", user_with(password=None), "user.password"),
    "register-user-is-a-string": ("register", {"user": "zed"}, "user"),
    "login-email-number": (
        "login",
        {"user": {"email": 1, "password": "password123"}},
        "user.email",
    ),
    "login-password-null": (
        "login",
        {"user": {"email": "jake@example.com", "password": None}},
        "user.password",
    ),
    "update-user-username-number": ("update-user", {"user": {"username": 7}}, "user.username"),
    "update-user-bio-list": ("update-user", {"user": {"bio": ["x"]}}, "user.bio"),
    "update-user-image-object": ("update-user", {"user": {"image": {"url": "x"}}}, "user.image"),
    "article-title-list": ("create-article", article_with(title=["T"]), "article.title"),
    "article-title-number": ("create-article", article_with(title=5), "article.title"),
    "article-taglist-string": ("create-article", article_with(tagList="a,b"), "article.tagList"),
    "article-taglist-numbers": ("create-article", article_with(tagList=[1, 2]), "article.tagList"),
    "article-taglist-null-item": (
        "create-article",
        article_with(tagList=[None]),
        "article.tagList",
    ),
    "article-body-object": ("create-article", article_with(body={"text": "B"}), "article.body"),
    "article-description-bool": (
        "create-article",
        article_with(description=True),
        "article.description",
    ),
    "article-title-null": ("create-article", article_with(title=None), "article.title"),
    "article-description-null": (
        "create-article",
        article_with(description=None),
        "article.description",
    ),
    "article-body-null": ("create-article", article_with(body=None), "article.body"),
    "article-is-a-list": ("create-article", {"article": [ARTICLE]}, "article"),
    "update-article-title-number": ("update-article", {"article": {"title": 5}}, "article.title"),
    "update-article-taglist-string": (
        "update-article",
        {"article": {"tagList": "a"}},
        "article.tagList",
    ),
    "comment-body-object": ("add-comment", comment({"text": "hi"}), "comment.body"),
    "comment-body-number": ("add-comment", comment(5), "comment.body"),
    "comment-body-null": ("add-comment", comment(None), "comment.body"),
    "comment-is-a-string": ("add-comment", {"comment": "hi"}, "comment"),
    # missing fields and missing envelope
    "register-missing-username": ("register", user_without("username"), "user.username"),
    "register-missing-email": ("register", user_without("email"), "user.email"),
    "register-missing-password": ("register", user_without("password"), "user.password"),
    "register-no-envelope": ("register", USER, "user"),
    "register-empty-user": ("register", {"user": {}}, "user.username"),
    "login-no-envelope": ("login", {"email": "jake@example.com", "password": "x" * 8}, "user"),
    "update-user-no-envelope": ("update-user", {"bio": "hello"}, "user"),
    "update-user-no-fields": ("update-user", {"user": {}}, "at least one"),
    "article-missing-title": ("create-article", article_without("title"), "article.title"),
    "article-missing-description": (
        "create-article",
        article_without("description"),
        "article.description",
    ),
    "article-missing-body": ("create-article", article_without("body"), "article.body"),
    "article-no-envelope": ("create-article", ARTICLE, "article"),
    "article-empty": ("create-article", {"article": {}}, "article.title"),
    "update-article-no-envelope": ("update-article", {"title": "New"}, "article"),
    "update-article-no-fields": ("update-article", {"article": {}}, "at least one"),
    "comment-missing-body": ("add-comment", {"comment": {}}, "comment.body"),
    "comment-no-envelope": ("add-comment", {"body": "hi"}, "comment"),
    # empty (or blank, where the field is stripped) strings
    "register-username-empty": ("register", user_with(username=""), "user.username"),
    "register-username-blank": ("register", user_with(username="   "), "user.username"),
    "register-email-empty": ("register", user_with(email=""), "user.email"),
    "register-password-empty": ("register", user_with(password=""), "user.password"),
    "update-user-username-empty": ("update-user", {"user": {"username": ""}}, "user.username"),
    "article-title-empty": ("create-article", article_with(title=""), "article.title"),
    "article-title-blank": ("create-article", article_with(title="   "), "article.title"),
    "article-description-empty": (
        "create-article",
        article_with(description=""),
        "article.description",
    ),
    "article-body-empty": ("create-article", article_with(body=""), "article.body"),
    "article-tag-empty": ("create-article", article_with(tagList=["ok", ""]), "article.tagList"),
    "update-article-title-empty": ("update-article", {"article": {"title": ""}}, "article.title"),
    "comment-body-empty": ("add-comment", comment(""), "comment.body"),
    # other format rules
    "register-username-with-space": ("register", user_with(username="ja ke"), "user.username"),
    "register-email-without-at": ("register", user_with(email="zed.example.com"), "user.email"),
    "register-password-too-short": ("register", user_with(password="1234567"), "user.password"),
    # over-long strings
    "register-username-65": ("register", user_with(username="u" * 65), "user.username"),
    "register-email-255": (
        "register",
        user_with(email="e" * (255 - len("@example.com")) + "@example.com"),
        "user.email",
    ),
    "register-password-257": ("register", user_with(password="p" * 257), "user.password"),
    "update-user-username-65": ("update-user", {"user": {"username": "u" * 65}}, "user.username"),
    "update-user-bio-2001": ("update-user", {"user": {"bio": "b" * 2001}}, "user.bio"),
    "update-user-image-2049": ("update-user", {"user": {"image": "i" * 2049}}, "user.image"),
    "article-title-201": ("create-article", article_with(title="t" * 201), "article.title"),
    "article-description-1001": (
        "create-article",
        article_with(description="d" * 1001),
        "article.description",
    ),
    "article-body-100001": ("create-article", article_with(body="b" * 100_001), "article.body"),
    "article-tag-65": ("create-article", article_with(tagList=["t" * 65]), "article.tagList"),
    "article-21-tags": (
        "create-article",
        article_with(tagList=[f"t{n}" for n in range(21)]),
        "article.tagList",
    ),
    "update-article-title-201": (
        "update-article",
        {"article": {"title": "t" * 201}},
        "article.title",
    ),
    "update-article-body-100001": (
        "update-article",
        {"article": {"body": "b" * 100_001}},
        "article.body",
    ),
    "update-article-21-tags": (
        "update-article",
        {"article": {"tagList": [f"t{n}" for n in range(21)]}},
        "article.tagList",
    ),
    "comment-body-10001": ("add-comment", comment("c" * 10_001), "comment.body"),
}


@pytest.mark.parametrize("case", list(INVALID_BODIES))
async def test_invalid_body_is_422_naming_the_field(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, case: str
) -> None:
    endpoint, body, word = INVALID_BODIES[case]
    method, path, who, _ = BODY_ENDPOINTS[endpoint]
    messages = await rejected(
        db, client, 422, method, world.path(path), json=body, headers=world.user(who)
    )
    assert mentions(messages, word), messages


async def test_article_limits_are_inclusive(client: httpx.AsyncClient, world: World) -> None:
    """The rejections above are about length: exactly at each limit is accepted."""
    body = article_with(
        title="t" * 200,
        description="d" * 1000,
        body="b" * 100_000,
        tagList=[f"{n:02d}" + "x" * 62 for n in range(20)],
    )
    response = await client.post("/api/articles", json=body, headers=world.jake.auth)
    assert response.status_code == 201, response.text[:500]
    article = response.json()["article"]
    assert (len(article["title"]), len(article["description"]), len(article["body"])) == (
        200,
        1000,
        100_000,
    )
    assert len(article["tagList"]) == 20
    assert {len(t) for t in article["tagList"]} == {64}

    url = f"/api/articles/{world.slug}/comments"
    response = await client.post(url, json=comment("c" * 10_000), headers=world.anna.auth)
    assert response.status_code == 200, response.text[:500]


async def test_user_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    email = "e" * (254 - len("@example.com")) + "@example.com"
    body = {"user": {"username": "u" * 64, "email": email, "password": "p" * 256}}
    response = await client.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["user"]["username"], response.json()["user"]["email"]) == (
        "u" * 64,
        email,
    )


# ---------------------------------------------------------------------------------------------
# NUL characters: valid JSON and valid Python strings, but PostgreSQL text cannot hold them.

NUL_BODIES: dict[str, tuple[str, Any, str]] = {
    "article-title": ("create-article", article_with(title="a\x00b"), "article.title"),
    "article-description": (
        "create-article",
        article_with(description="a\x00b"),
        "article.description",
    ),
    "article-body": ("create-article", article_with(body="a\x00b"), "article.body"),
    "article-tag": ("create-article", article_with(tagList=["a\x00b"]), "article.tagList"),
    "update-article-body": ("update-article", {"article": {"body": "a\x00b"}}, "article.body"),
    "comment-body": ("add-comment", comment("a\x00b"), "comment.body"),
    "update-user-bio": ("update-user", {"user": {"bio": "a\x00b"}}, "user.bio"),
    "update-user-image": ("update-user", {"user": {"image": "a\x00b"}}, "user.image"),
    "update-user-email": ("update-user", {"user": {"email": "a\x00b@example.com"}}, "user.email"),
    "register-email": ("register", user_with(email="a\x00b@example.com"), "user.email"),
}


@pytest.mark.parametrize("case", list(NUL_BODIES))
async def test_nul_character_in_a_field_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, case: str
) -> None:
    endpoint, body, word = NUL_BODIES[case]
    method, path, who, _ = BODY_ENDPOINTS[endpoint]
    messages = await rejected(
        db, client, 422, method, world.path(path), json=body, headers=world.user(who)
    )
    assert mentions(messages, word), messages


@pytest.mark.parametrize(
    "url",
    [
        "/api/articles/a%00b",
        "/api/articles/a%00b/comments",
        "/api/profiles/a%00b",
    ],
    ids=["article-slug", "comments-slug", "profile-username"],
)
async def test_nul_character_in_a_path_is_a_client_error(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.get(url)
    assert response.status_code in (404, 422), response.text
    assert_error(response, response.status_code)


@pytest.mark.parametrize("param", ["tag", "author", "favorited"])
async def test_nul_character_in_a_filter_is_not_a_500(
    client: httpx.AsyncClient, world: World, param: str
) -> None:
    response = await client.get("/api/articles", params={param: "a\x00b"})
    if response.status_code == 200:  # no article can match: an empty page is a fine answer
        assert response.json() == {"articles": [], "articlesCount": 0}
    else:
        assert_error(response, 422)


# ---------------------------------------------------------------------------------------------
# Request bodies over 1 MiB: 413, with or without Content-Length


def oversized(endpoint: str) -> bytes:
    """A well-formed body for the endpoint, padded past 1 MiB inside a string field."""
    padding = "x" * (MIB + 1)
    bodies = {
        "register": user_with(username=padding),
        "update-user": {"user": {"bio": padding}},
        "create-article": article_with(body=padding),
        "update-article": {"article": {"body": padding}},
        "add-comment": comment(padding),
    }
    return json.dumps(bodies[endpoint]).encode()


async def in_chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    "endpoint", ["register", "update-user", "create-article", "update-article", "add-comment"]
)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_body_over_1_mib_is_413(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, endpoint: str, framing: str
) -> None:
    method, path, who, _ = BODY_ENDPOINTS[endpoint]
    data = oversized(endpoint)
    assert len(data) > MIB
    content: bytes | AsyncIterator[bytes] = data if framing == "content-length" else in_chunks(data)
    before = await snapshot(db)
    response = await client.request(
        method, world.path(path), content=content, headers={**JSON, **world.user(who)}
    )
    if framing == "chunked":  # the cap must hold without a length announced up front
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
    else:
        assert response.request.headers["content-length"] == str(len(data))
    messages = assert_error(response, 413)
    assert mentions(messages, str(MIB)), messages
    assert await snapshot(db) == before


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_body_of_exactly_1_mib_passes_the_size_cap(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, framing: str
) -> None:
    """At the cap the body is read and validated: the answer is about the field, not the size."""
    shell = json.dumps(article_with(body="")).encode()
    data = json.dumps(article_with(body="x" * (MIB - len(shell)))).encode()
    assert len(data) == MIB
    content: bytes | AsyncIterator[bytes] = data if framing == "content-length" else in_chunks(data)
    headers = {**JSON, **world.jake.auth}
    messages = await rejected(
        db, client, 422, "POST", "/api/articles", content=content, headers=headers
    )
    assert mentions(messages, "at most 100000 characters"), messages


# ---------------------------------------------------------------------------------------------
# Paging parameters

BAD_PAGING = {
    "limit-101": "limit=101",
    "limit-huge": "limit=" + "9" * 30,
    "limit-0": "limit=0",
    "limit-negative": "limit=-1",
    "limit-not-a-number": "limit=ten",
    "limit-fraction": "limit=1.5",
    "offset-negative": "offset=-1",
    "offset-not-a-number": "offset=first",
    "offset-over-1000000": "offset=1000001",
}


@pytest.mark.parametrize("list_path", ["/api/articles", "/api/articles/feed"], ids=["list", "feed"])
@pytest.mark.parametrize("query", list(BAD_PAGING))
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, world: World, list_path: str, query: str
) -> None:
    response = await client.get(f"{list_path}?{BAD_PAGING[query]}", headers=world.jake.auth)
    messages = assert_error(response, 422)
    assert mentions(messages, BAD_PAGING[query].split("=")[0]), messages


@pytest.mark.parametrize(
    ("list_path", "max_offset"),
    [("/api/articles", 1_000_000), ("/api/articles/feed", FEED_MAX_OFFSET)],
    ids=["list", "feed"],
)
async def test_paging_limits_are_inclusive(
    client: httpx.AsyncClient, world: World, list_path: str, max_offset: int
) -> None:
    for query in ("limit=100&offset=0", f"limit=1&offset={max_offset}"):
        response = await client.get(f"{list_path}?{query}", headers=world.jake.auth)
        assert response.status_code == 200, (query, response.text)


async def test_a_feed_page_past_its_depth_is_422_with_the_reason(
    client: httpx.AsyncClient, world: World
) -> None:
    path = f"/api/articles/feed?offset={FEED_MAX_OFFSET + 1}"
    messages = assert_error(await client.get(path, headers=world.jake.auth), 422)
    assert mentions(messages, "offset", str(FEED_MAX_OFFSET)), messages


@pytest.mark.parametrize(
    "query",
    ["limit=501", "limit=0", "offset=-1", "limit=all"],
    ids=["limit-501", "limit-0", "offset-negative", "limit-not-a-number"],
)
async def test_bad_comment_paging_is_422(
    client: httpx.AsyncClient, world: World, query: str
) -> None:
    assert_error(await client.get(world.path(f"/api/articles/{{slug}}/comments?{query}")), 422)


@pytest.mark.parametrize("param", ["tag", "author", "favorited"])
async def test_over_long_filter_is_422(client: httpx.AsyncClient, param: str) -> None:
    messages = assert_error(await client.get("/api/articles", params={param: "f" * 65}), 422)
    assert mentions(messages, param), messages


# ---------------------------------------------------------------------------------------------
# Unknown slugs, usernames and comment ids

# id -> (method, path, as whom, JSON body, what is not found)
UNKNOWN: dict[str, tuple[str, str, str, Any, str]] = {
    "get-article": ("GET", "/api/articles/no-such-slug", "jake", None, "article"),
    "update-article": (
        "PUT",
        "/api/articles/no-such-slug",
        "jake",
        {"article": {"body": "x"}},
        "article",
    ),
    "delete-article": ("DELETE", "/api/articles/no-such-slug", "jake", None, "article"),
    "favorite": ("POST", "/api/articles/no-such-slug/favorite", "jake", None, "article"),
    "unfavorite": ("DELETE", "/api/articles/no-such-slug/favorite", "jake", None, "article"),
    "list-comments": ("GET", "/api/articles/no-such-slug/comments", "jake", None, "article"),
    "add-comment": (
        "POST",
        "/api/articles/no-such-slug/comments",
        "jake",
        comment("hi"),
        "article",
    ),
    "delete-comment-unknown-slug": (
        "DELETE",
        "/api/articles/no-such-slug/comments/{comment}",
        "anna",
        None,
        "not found",
    ),
    "delete-comment-unknown-id": (
        "DELETE",
        "/api/articles/{slug}/comments/999999",
        "anna",
        None,
        "comment",
    ),
    "delete-comment-max-bigint-id": (
        "DELETE",
        f"/api/articles/{{slug}}/comments/{2**63 - 1}",
        "anna",
        None,
        "comment",
    ),
    "get-profile": ("GET", "/api/profiles/nobody", "jake", None, "profile"),
    "follow": ("POST", "/api/profiles/nobody/follow", "jake", None, "profile"),
    "unfollow": ("DELETE", "/api/profiles/nobody/follow", "jake", None, "profile"),
}


@pytest.mark.parametrize("case", list(UNKNOWN))
async def test_unknown_resource_is_404(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, case: str
) -> None:
    method, path, who, body, what = UNKNOWN[case]
    messages = await rejected(
        db, client, 404, method, world.path(path), json=body, headers=world.user(who)
    )
    assert mentions(messages, what, "not found"), messages


async def test_anonymous_reads_of_unknown_resources_are_404(client: httpx.AsyncClient) -> None:
    for url in (
        "/api/articles/no-such-slug",
        "/api/articles/no-such-slug/comments",
        "/api/profiles/nobody",
    ):
        assert_error(await client.get(url), 404)


async def test_comment_of_another_article_is_404(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, world: World
) -> None:
    """The comment exists and is anna's, but not under this slug: it is not deleted through it."""
    other = (await api.create_article(world.jake, "Other"))["slug"]
    url = f"/api/articles/{other}/comments/{world.comment_id}"
    await rejected(db, client, 404, "DELETE", url, headers=world.anna.auth)
    comments = (await client.get(world.path("/api/articles/{slug}/comments"))).json()["comments"]
    assert [c["id"] for c in comments] == [world.comment_id]


@pytest.mark.parametrize(
    "comment_id",
    ["abc", "1.5", "-1", "0", str(2**63), str(2**70)],
    ids=["not-a-number", "fraction", "negative", "zero", "2**63", "2**70"],
)
async def test_invalid_comment_id_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, comment_id: str
) -> None:
    url = world.path(f"/api/articles/{{slug}}/comments/{comment_id}")
    messages = await rejected(db, client, 422, "DELETE", url, headers=world.anna.auth)
    assert mentions(messages, "id"), messages


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/articles/" + "s" * 201),
        ("DELETE", "/api/articles/" + "s" * 201),
        ("GET", "/api/profiles/" + "u" * 65),
        ("POST", "/api/profiles/" + "u" * 65 + "/follow"),
    ],
    ids=["get-slug-201", "delete-slug-201", "get-username-65", "follow-username-65"],
)
async def test_over_long_path_parameter_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, method: str, url: str
) -> None:
    await rejected(db, client, 422, method, url, headers=world.jake.auth)


# ---------------------------------------------------------------------------------------------
# Duplicate usernames and emails


@pytest.mark.parametrize(
    ("username", "email", "taken"),
    [
        ("anna", "other@example.com", "username"),
        ("  anna  ", "other@example.com", "username"),
        ("other", "anna@example.com", "email"),
        ("other", "ANNA@Example.COM", "email"),
        ("other", "  Anna@example.com ", "email"),
    ],
    ids=[
        "same-username",
        "same-username-padded",
        "same-email",
        "same-email-other-case",
        "same-email-padded-other-case",
    ],
)
async def test_register_with_a_taken_name_or_email_is_422(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    world: World,
    username: str,
    email: str,
    taken: str,
) -> None:
    body = {"user": {"username": username, "email": email, "password": "password123"}}
    messages = await rejected(db, client, 422, "POST", "/api/users", json=body)
    assert mentions(messages, taken, "taken"), messages


@pytest.mark.parametrize(
    ("changes", "taken"),
    [
        ({"username": "anna"}, "username"),
        ({"email": "anna@example.com"}, "email"),
        ({"email": "Anna@EXAMPLE.com"}, "email"),
        ({"username": "anna", "bio": "new bio", "image": "https://i.example/x.png"}, "username"),
        ({"email": "ANNA@example.com", "username": "jacob"}, "email"),
    ],
    ids=[
        "taken-username",
        "taken-email",
        "taken-email-other-case",
        "taken-username-with-other-changes",
        "taken-email-with-free-username",
    ],
)
async def test_update_user_to_a_taken_name_or_email_is_422(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    world: World,
    changes: dict[str, str],
    taken: str,
) -> None:
    messages = await rejected(
        db, client, 422, "PUT", "/api/user", json={"user": changes}, headers=world.jake.auth
    )
    assert mentions(messages, taken, "taken"), messages
    me = (await client.get("/api/user", headers=world.jake.auth)).json()["user"]
    assert (me["username"], me["email"], me["bio"], me["image"]) == (
        "jake",
        "jake@example.com",
        "",
        "",
    )


# ---------------------------------------------------------------------------------------------
# Server-owned fields cannot be set

SERVER_OWNED: dict[str, Any] = {
    "slug": "chosen-slug",
    "favoritesCount": 1000,
    "favorited": True,
    "author": {"username": "anna", "bio": "", "image": "", "following": False},
    "createdAt": "2000-01-01T00:00:00.000Z",
    "updatedAt": "2000-01-01T00:00:00.000Z",
    "id": 1,
}


@pytest.mark.parametrize("field", list(SERVER_OWNED))
async def test_article_create_with_a_server_owned_field_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, field: str
) -> None:
    body = article_with(**{field: SERVER_OWNED[field]})
    headers = world.jake.auth
    messages = await rejected(db, client, 422, "POST", "/api/articles", json=body, headers=headers)
    assert mentions(messages, f"article.{field}"), messages


@pytest.mark.parametrize("field", list(SERVER_OWNED))
async def test_article_update_with_a_server_owned_field_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, field: str
) -> None:
    body = {"article": {"body": "new", field: SERVER_OWNED[field]}}
    url = world.path("/api/articles/{slug}")
    messages = await rejected(db, client, 422, "PUT", url, json=body, headers=world.jake.auth)
    assert mentions(messages, f"article.{field}"), messages


@pytest.mark.parametrize("field", ["id", "author", "createdAt", "updatedAt"])
async def test_comment_with_a_server_owned_field_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World, field: str
) -> None:
    value = {"id": 1, "author": SERVER_OWNED["author"]}.get(field, "2000-01-01T00:00:00.000Z")
    body = {"comment": {"body": "hi", field: value}}
    url = world.path("/api/articles/{slug}/comments")
    messages = await rejected(db, client, 422, "POST", url, json=body, headers=world.anna.auth)
    assert mentions(messages, f"comment.{field}"), messages


# ---------------------------------------------------------------------------------------------
# Someone else's article or comment (complements test_articles.py and test_comments.py)


async def test_non_author_update_with_tags_leaves_tags_intact(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    url = world.path("/api/articles/{slug}")
    for body in (
        {"article": {"tagList": ["hijacked"]}},
        {"article": {"tagList": []}},
        {"article": {"title": "Mine now", "tagList": ["x"], "body": "gone"}},
    ):
        messages = await rejected(db, client, 403, "PUT", url, json=body, headers=world.anna.auth)
        assert mentions(messages, "not allowed"), messages
    article = (await client.get(url)).json()["article"]
    assert (article["title"], article["body"], article["tagList"]) == ("Dragons", "b", ["a", "b"])
    assert (await client.get("/api/tags")).json() == {"tags": ["a", "b"]}


async def test_non_author_retitle_keeps_title_and_slug(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    url = world.path("/api/articles/{slug}")
    body = {"article": {"title": "Stolen"}}
    await rejected(db, client, 403, "PUT", url, json=body, headers=world.anna.auth)
    assert (await client.get(url)).json()["article"]["title"] == "Dragons"
    listed = (await client.get("/api/articles")).json()["articles"]
    assert [a["slug"] for a in listed] == [world.slug]


async def test_non_author_delete_keeps_comments_favorites_and_tags(
    client: httpx.AsyncClient, db: asyncpg.Connection, world: World
) -> None:
    """anna commented on and favorited jake's article; she still cannot delete it."""
    counts = await table_counts(db)
    assert (counts["comments"], counts["favorites"], counts["article_tags"]) == (1, 1, 2)
    await rejected(
        db, client, 403, "DELETE", world.path("/api/articles/{slug}"), headers=world.anna.auth
    )
    article = (await client.get(world.path("/api/articles/{slug}"))).json()["article"]
    assert article["favoritesCount"] == 1


async def test_third_user_cannot_delete_a_comment(
    client: httpx.AsyncClient, db: asyncpg.Connection, services: Services, world: World
) -> None:
    """bob neither wrote the comment nor the article."""
    bob = await quick_user(db, services, "bob")
    url = world.path("/api/articles/{slug}/comments/{comment}")
    messages = await rejected(db, client, 403, "DELETE", url, headers=bob.auth)
    assert mentions(messages, "not allowed"), messages


async def test_messages_show_no_regex_and_no_value_error_prefix(
    client: httpx.AsyncClient,
) -> None:
    body = {"user": {"username": "bad name!", "email": "x@example.com", "password": "password1"}}
    registered = await client.post("/api/users", json=body)
    tagged = await client.get("/api/articles", params={"tag": "a\x00b"})
    for response in (registered, tagged):
        messages = assert_error(response, 422)
        for message in messages:
            assert "pattern" not in message, message
            assert "^" not in message, message
            assert "Value error" not in message, message
