"""Every cached read against PostgreSQL after every kind of write (ADR 0020): after each
acknowledged write, each cacheable read -- anonymous and as each user, through the route and
again through the fast path -- must give exactly what the same read gives with the cache off."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from brisk.cache import Stale
from brisk.cache.remote import RemoteCache
from brisk.services import Services
from tests.integration.conftest import Api, ApiUser, Instance

NAMES = ("wri", "rea", "thi")
# Reads that answer 401 anonymously: asked only as a user.
SIGNED_IN = ("/api/dashboard", "/api/user", "/api/notifications/unread-count", "/api/articles/feed")


@contextmanager
def cache_off(services: Services) -> Iterator[None]:
    services.cache.enabled = False
    try:
        yield
    finally:
        services.cache.enabled = True


class World:
    """The users, their articles and comments as the writes left them."""

    def __init__(self, client: httpx.AsyncClient, users: list[ApiUser]) -> None:
        self.client = client
        self.users = users
        self.slugs: dict[str, str] = {}  # slug -> author username
        self.comments: list[tuple[str, int, str]] = []  # (slug, id, author username)
        self.renames = 0

    def user(self, name: str) -> ApiUser:
        return next(u for u in self.users if u.username == name)

    def urls(self) -> list[str]:
        urls = [
            *SIGNED_IN[:3],
            "/api/articles?limit=20",
            "/api/articles?tag=x&limit=20",
            "/api/articles?tag=y",
            "/api/articles/feed?limit=20",
            "/api/articles/feed?limit=10",
            "/api/tags",
        ]
        urls += [f"/api/profiles/{u.username}" for u in self.users]
        for slug in self.slugs:
            urls += [f"/api/articles/{slug}", f"/api/articles/{slug}/comments"]
        return urls

    async def write(self, rng: random.Random) -> str:
        """One write of a random kind by a random user; what it did, for the failure message."""
        actor = rng.choice(self.users)
        kind = rng.choice(KINDS)
        mine = [s for s, a in self.slugs.items() if a == actor.username]
        if (kind in ARTICLE_KINDS and not self.slugs) or (kind in OWN_KINDS and not mine):
            kind = "create"
        if kind == "uncomment" and not self.comments:
            kind = "create"
        response = await getattr(self, f"_{kind}")(rng, actor, mine)
        assert response.status_code < 300, (kind, response.text)
        return f"{kind} by {actor.username}"

    async def _create(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        tags = rng.sample(["x", "y", "z"], rng.randint(0, 2))
        body = {"article": {"title": "a", "description": "d", "body": "b", "tagList": tags}}
        response = await self.client.post("/api/articles", json=body, headers=actor.auth)
        self.slugs[response.json()["article"]["slug"]] = actor.username
        return response

    async def _favorite(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        url = f"/api/articles/{rng.choice(list(self.slugs))}/favorite"
        return await self.client.post(url, headers=actor.auth)

    async def _unfavorite(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        url = f"/api/articles/{rng.choice(list(self.slugs))}/favorite"
        return await self.client.delete(url, headers=actor.auth)

    async def _comment(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        slug = rng.choice(list(self.slugs))
        # The very bytes the flags are set by, in a body.
        body = {"comment": {"body": f'"following":false by {actor.username}'}}
        response = await self.client.post(
            f"/api/articles/{slug}/comments", json=body, headers=actor.auth
        )
        self.comments.append((slug, response.json()["comment"]["id"], actor.username))
        return response

    async def _uncomment(self, rng: random.Random, _: ApiUser, __: list[str]) -> httpx.Response:
        slug, cid, author = self.comments.pop(rng.randrange(len(self.comments)))
        url = f"/api/articles/{slug}/comments/{cid}"
        return await self.client.delete(url, headers=self.user(author).auth)

    async def _follow(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        other = rng.choice([u for u in self.users if u is not actor])
        return await self.client.post(f"/api/profiles/{other.username}/follow", headers=actor.auth)

    async def _unfollow(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        other = rng.choice([u for u in self.users if u is not actor])
        url = f"/api/profiles/{other.username}/follow"
        return await self.client.delete(url, headers=actor.auth)

    async def _delete(self, rng: random.Random, actor: ApiUser, mine: list[str]) -> httpx.Response:
        slug = rng.choice(mine)
        del self.slugs[slug]
        self.comments = [c for c in self.comments if c[0] != slug]
        return await self.client.delete(f"/api/articles/{slug}", headers=actor.auth)

    async def _edit(self, rng: random.Random, actor: ApiUser, mine: list[str]) -> httpx.Response:
        slug = rng.choice(mine)
        change = rng.choice(
            [
                {"title": f"t{rng.randrange(10**6)}"},
                {"tagList": rng.sample(["x", "y", "z"], rng.randint(0, 2))},
                {"body": "new body", "description": "new description"},
            ]
        )
        url = f"/api/articles/{slug}"
        response = await self.client.put(url, json={"article": change}, headers=actor.auth)
        new = response.json()["article"]["slug"]
        self.slugs[new] = self.slugs.pop(slug)
        self.comments = [(new if s == slug else s, i, a) for s, i, a in self.comments]
        return response

    async def _profile(self, rng: random.Random, actor: ApiUser, _: list[str]) -> httpx.Response:
        self.renames += 1
        change = rng.choice(
            [
                {"bio": f'"favorited":false {rng.randrange(100)}', "image": "https://i.test/a"},
                {"username": f"{actor.username[:3]}{self.renames}"},
                {"password": f"pw-{rng.randrange(10**6)}-long"},
            ]
        )
        response = await self.client.put("/api/user", json={"user": change}, headers=actor.auth)
        old, new = actor.username, response.json()["user"]["username"]
        self.slugs = {s: new if a == old else a for s, a in self.slugs.items()}
        self.comments = [(s, i, new if a == old else a) for s, i, a in self.comments]
        actor.username, actor.token = new, response.json()["user"]["token"]
        return response

    async def _read(self, _: random.Random, actor: ApiUser, __: list[str]) -> httpx.Response:
        body = {"upTo": "999999"}
        return await self.client.post("/api/notifications/read", json=body, headers=actor.auth)


KINDS = [
    "create",
    "favorite",
    "unfavorite",
    "comment",
    "uncomment",
    "follow",
    "unfollow",
    "delete",
    "edit",
    "edit",
    "profile",
    "read",
]
ARTICLE_KINDS = ("favorite", "unfavorite", "comment")
OWN_KINDS = ("delete", "edit")


async def _get(client: httpx.AsyncClient, url: str, viewer: ApiUser | None) -> tuple[int, Any]:
    response = await client.get(url, headers=viewer.auth if viewer else {})
    return response.status_code, response.json()


async def test_every_cached_read_matches_postgresql_after_every_write(
    client: httpx.AsyncClient, api: Api, services: Services
) -> None:
    users = [await api.register(name) for name in NAMES]
    world = World(client, users)
    rng = random.Random(20)  # a reproducible sequence
    history: list[str] = []
    for _ in range(45):
        history.append(await world.write(rng))
        await _check_reads(world, client, services, history)


async def _check_reads(
    world: World, client: httpx.AsyncClient, services: Services, history: list[str]
) -> None:
    for url in world.urls():
        for viewer in (None, *world.users):
            if viewer is None and url.startswith(SIGNED_IN):
                continue
            # Twice: the route fills what the second, on the fast path, answers from L1.
            cached = [await _get(client, url, viewer) for _ in range(2)]
            with cache_off(services):
                truth = await _get(client, url, viewer)
            who = viewer.username if viewer else "anonymous"
            assert cached == [truth, truth], (url, who, history[-6:])


async def _evictions_arrived(writer: Instance, reader: Instance) -> None:
    """Wait (bounded) until `reader` has applied every eviction `writer` published so far: a
    marker published after them arrives after them (one channel, in PUBLISH order)."""
    marker = f"{writer.services.cache.keys.prefix}marker:{random.random()}"
    await writer.services.cache.invalidate(Stale((marker,), ()))
    local = reader.services.cache.local
    for _ in range(500):
        if marker in local._invalidated:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the eviction never arrived")


async def test_reads_on_another_instance_match_postgresql_once_evictions_arrived(
    pair: tuple[Instance, Instance],
) -> None:
    """The same, across two instances: writes on A, reads on B (which holds L1 entries, tokens
    and viewer sets of its own) once A's evictions have reached B."""
    a, b = pair
    users = [await Api(a.client).register(name) for name in NAMES]
    world = World(a.client, users)
    rng = random.Random(7)  # a reproducible sequence
    history: list[str] = []
    for _ in range(30):
        history.append(await world.write(rng))
        await _evictions_arrived(a, b)
        await _check_reads(world, b.client, b.services, history)


async def test_a_relayed_invalidation_renews_the_tokens_another_instance_holds(
    pair: tuple[Instance, Instance], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write whose invalidation A could not send (Redis refused it once) is relayed from the
    outbox; B, which holds the list's token in its L1, must drop it then (docs/CACHE.md: within
    the relay's bound), not serve the old list until its L1 TTL (600 s here)."""
    a, b = pair
    writer = await Api(a.client).register("writer")
    await Api(a.client).create_article(writer, "one", ["x"])
    url = "/api/articles?tag=x"
    assert [(await b.client.get(url)).json()["articlesCount"] for _ in range(2)] == [1, 1]
    send = RemoteCache.invalidate
    refused: list[bool] = []

    async def once_refused(self: RemoteCache, names: list[str], versions: list[str]) -> None:
        if self is a.services.cache._l2 and not refused:
            refused.append(True)
            raise RedisConnectionError("refused once")
        await send(self, names, versions)

    monkeypatch.setattr(RemoteCache, "invalidate", once_refused)
    await Api(a.client).create_article(writer, "two", ["x"])
    assert refused
    assert (await a.client.get(url)).json()["articlesCount"] == 2  # A dropped its own L1
    bound = a.services.settings.cache.outbox_grace_seconds + 2.0
    deadline = time.monotonic() + bound + a.services.settings.cache.outbox_relay_seconds
    while (await b.client.get(url)).json()["articlesCount"] != 2:
        assert time.monotonic() < deadline, "B still serves the list from before the write"
        await asyncio.sleep(0.05)


async def test_concurrent_writes_and_reads_on_two_instances_leave_no_stale_entry(
    pair: tuple[Instance, Instance],
) -> None:
    """Favorites, comments, follows and bio edits on both instances, with reads of everything
    (anonymous and signed in) racing them on both: once the writes are acknowledged, the refills
    settled and the evictions arrived both ways, no L1 or L2 entry may hold a pre-write value."""
    a, b = pair
    users = [await Api(a.client).register(name) for name in NAMES]
    world = World(a.client, users)
    for n in range(4):
        await world._create(random.Random(n), users[n % 3], [])
    rng = random.Random(11)  # a reproducible mix; the interleaving is the event loop's
    racing = ("_favorite", "_unfavorite", "_comment", "_follow", "_unfollow")

    async def worker(seed: int) -> None:
        mine = random.Random(seed)
        for _ in range(25):
            instance = mine.choice(pair)
            actor = mine.choice(users)
            if mine.random() < 0.3:
                writes = World(instance.client, users)
                writes.slugs = world.slugs
                response = await getattr(writes, mine.choice(racing))(mine, actor, [])
                assert response.status_code < 300, response.text
            else:
                url = mine.choice(world.urls())
                viewer = mine.choice([None, *users])
                if not (viewer is None and url.startswith(SIGNED_IN)):
                    status, _ = await _get(instance.client, url, viewer)
                    assert status == 200, url

    await asyncio.gather(*(worker(rng.randrange(10**6)) for _ in range(8)))
    for instance in pair:
        await instance.services.cache.settle()
    await _evictions_arrived(a, b)
    await _evictions_arrived(b, a)
    for instance in pair:
        await _check_reads(world, instance.client, instance.services, [instance.name])
