"""The fast path's table: which paths it may answer, declared by the routers."""

from __future__ import annotations

from fastapi.routing import APIRoute

from brisk.api.cached_reads import CachedReads
from brisk.app import API_PREFIX, DOMAIN_ROUTES


def _table() -> CachedReads:
    declared = [(d.router, getattr(d, "CACHED_READS", ())) for d in DOMAIN_ROUTES]
    return CachedReads.declared(declared, prefix=API_PREFIX)


def test_the_declared_reads_are_the_cached_gets() -> None:
    routes = {r.template: r.read.viewer for r in _table().routes}
    assert routes == {
        "/api/articles/{slug}": False,
        "/api/profiles/{username}": False,
        "/api/tags": False,
        "/api/dashboard": True,
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
    # Its own route (a literal GET route of the same shape), sub-resources, and the rest: no.
    for path in (
        "/api/articles/feed",
        "/api/articles/",
        "/api/articles",
        "/api/articles/how-to/comments",
        "/api/profiles/",
        "/api/profiles/jake/follow",
        "/api/tags/",
        "/api/user",
        "/health/live",
    ):
        assert matched(path) is None, path
