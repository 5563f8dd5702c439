"""One rule for Authorization (issue 14, item 5): a request with more than one Authorization
header is refused with 401 by every layer that reads the header -- the cached-read fast path,
the auth dependencies and the replica routing -- because they all ask the one parser.

Before the rule, the fast path read the last header and the dependencies the first, so a
dashboard cached for the second token answered a request the router would have read as the
first user's."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from brisk.api.consistency import token_claims
from brisk.services import Services
from tests.integration.conftest import Api, assert_error, quick_user

pytestmark = pytest.mark.integration


def _both(first: str, second: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Token {first}"), ("Authorization", f"Token {second}")]


async def test_two_headers_never_get_a_cached_dashboard(
    client: httpx.AsyncClient, db: asyncpg.Connection, services: Services
) -> None:
    jake, anna = [await quick_user(db, services, name) for name in ("jake", "anna")]
    for user in (jake, anna):  # both dashboards now sit in L1, where the fast path finds them
        assert (await client.get("/api/dashboard", headers=user.auth)).status_code == 200
    for first, second in ((jake, anna), (anna, jake)):
        response = await client.get("/api/dashboard", headers=_both(first.token, second.token))
        assert_error(response, 401)
        assert "dashboard" not in response.json()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/user"),
        ("GET", "/api/articles"),
        ("GET", "/api/articles/feed"),
        ("GET", "/api/articles/{slug}"),
        ("GET", "/api/articles/{slug}/comments"),
        ("GET", "/api/profiles/jake"),
        ("GET", "/api/tags"),
        ("GET", "/api/notifications"),
        ("POST", "/api/articles/{slug}/favorite"),
    ],
)
async def test_two_headers_are_refused_by_every_reader(
    client: httpx.AsyncClient,
    api: Api,
    db: asyncpg.Connection,
    services: Services,
    method: str,
    url: str,
) -> None:
    """The same token twice is refused too: the rule is "one header", not "one user"."""
    jake = await quick_user(db, services, "jake")
    slug = (await api.create_article(jake, "Dragons"))["slug"]
    url = url.format(slug=slug)
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200  # cached anonymously
    assert_error(await client.request(method, url, headers=_both(jake.token, jake.token)), 401)
    assert (await client.request(method, url, headers=jake.auth)).status_code == 200


def test_replica_routing_reads_no_identity_from_two_headers() -> None:
    """It cannot refuse (it only picks a server), so it picks as for an anonymous request and
    leaves the 401 to the dependency."""
    token = b"Token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImlhdCI6MTAwfQ.sig"
    one = {"headers": [(b"authorization", token)]}
    two = {"headers": [(b"authorization", token), (b"authorization", token)]}
    assert token_claims(one) == (42, 100.0)
    assert token_claims(two) == (None, None)
