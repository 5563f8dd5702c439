"""The fast path's table: which paths it may answer, declared by the routers."""

from __future__ import annotations

from fastapi.routing import APIRoute

from brisk.api.cached_reads import CachedReads, page_of, parse_query
from brisk.app import API_PREFIX, DOMAIN_ROUTES


def _table() -> CachedReads:
    declared = [(d.router, getattr(d, "CACHED_READS", ())) for d in DOMAIN_ROUTES]
    return CachedReads.declared(declared, prefix=API_PREFIX)


def test_the_declared_reads_are_the_cached_gets() -> None:
    routes = {r.template: (r.read.signed_in, sorted(r.read.query)) for r in _table().routes}
    assert routes == {
        "/api/articles/{slug}": (False, []),
        "/api/articles": (False, ["limit", "offset", "tag"]),
        "/api/articles/feed": (True, ["limit", "offset"]),
        "/api/articles/{slug}/comments": (False, []),
        "/api/profiles/{username}": (False, []),
        "/api/tags": (False, []),
        "/api/dashboard": (True, []),
    }


def test_every_declared_read_is_a_get_route_of_its_router() -> None:
    for domain in DOMAIN_ROUTES:
        gets = {
            r.path for r in domain.router.routes if isinstance(r, APIRoute) and "GET" in r.methods
        }
        for read in getattr(domain, "CACHED_READS", ()):
            assert read.template in gets, read.template


def test_matching_follows_the_routes() -> None:
    table = _table()

    def matched(path: str) -> tuple[str, dict[str, str]] | None:
        found = table.match(path)
        return None if found is None else (found[0].template, found[1])

    assert matched("/api/tags") == ("/api/tags", {})
    assert matched("/api/articles/how-to") == ("/api/articles/{slug}", {"slug": "how-to"})
    assert matched("/api/profiles/jake") == ("/api/profiles/{username}", {"username": "jake"})
    assert matched("/api/articles") == ("/api/articles", {})
    # The feed is its own literal route, never an article whose slug is "feed".
    assert matched("/api/articles/feed") == ("/api/articles/feed", {})
    assert matched("/api/articles/how-to/comments") == (
        "/api/articles/{slug}/comments",
        {"slug": "how-to"},
    )
    # Sub-resources and the rest: no.
    for path in (
        "/api/articles/",
        "/api/articles/how-to/favorite",
        "/api/profiles/",
        "/api/profiles/jake/follow",
        "/api/tags/",
        "/api/user",
        "/health/live",
    ):
        assert matched(path) is None, path


def test_a_query_is_answered_only_when_read_as_the_routes_read_it() -> None:
    allowed = frozenset({"limit", "offset", "tag"})
    assert parse_query(b"", allowed) == {}
    assert parse_query(b"limit=20&tag=caf%C3%A9", allowed) == {"limit": "20", "tag": "café"}
    assert parse_query(b"tag=a+b", allowed) == {"tag": "a b"}  # as Starlette reads '+'
    # Unknown, repeated or empty parameters are the route's to answer.
    for raw in (b"author=jake", b"limit=1&limit=2", b"tag=", b"limit"):
        assert parse_query(raw, allowed) is None, raw


def test_a_page_is_read_within_the_routes_bounds() -> None:
    bounds = {"default_limit": 20, "max_limit": 100, "max_offset": 1_000_000}
    assert page_of({}, **bounds) == (20, 0)
    assert page_of({"limit": "5", "offset": "40"}, **bounds) == (5, 40)
    assert page_of({"limit": "007"}, **bounds) == (7, 0)  # int("007"), as the route reads it
    for query in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "+5"},
        {"limit": " 5"},
        {"offset": "1000001"},
        {"offset": "1e3"},
    ):
        assert page_of(query, **bounds) is None, query
