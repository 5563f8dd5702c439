"""GET /api/dashboard: what the single endpoints say, the same JSON from all three strategies,
reads that really run at once, and a pool left whole by failures, deadlines and cancellation."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from brisk.articles import repository as articles
from brisk.dashboard import repository as dashboard_repo
from brisk.errors import ServiceUnavailableError
from brisk.notifications import repository as notifications
from brisk.services import Services
from brisk.users import repository as users
from tests.integration.conftest import Api, ApiUser, assert_error, quick_user
from tests.integration.conftest import database_calls as counting

STRATEGIES = ("concurrent", "sequential", "single")
# The five reads of the concurrent and sequential strategies, as (module, function name).
READS = (
    (users, "get_user_by_id"),
    (articles, "list_articles_by_author_id"),
    (articles, "list_feed"),
    (notifications, "list_notifications"),
    (notifications, "count_unread"),
)
# A guard against a hang, never a timing assertion.
GUARD_SECONDS = 30
SLEEPING = (
    "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"
)


@pytest.fixture
def strategy(
    services: Services, monkeypatch: pytest.MonkeyPatch, no_cache: None
) -> Callable[[str], None]:
    def use(name: str) -> None:
        monkeypatch.setattr(services.dashboard.settings, "strategy", name)

    return use


@pytest.fixture
async def jake(
    client: httpx.AsyncClient, api: Api, db: asyncpg.Connection, services: Services
) -> ApiUser:
    """A user with everything a dashboard shows: more of each than it lists, read and unread."""
    me, anna, bob = [await quick_user(db, services, n) for n in ("jake", "anna", "bob")]
    changes = {"user": {"bio": 'Says "hi" \\ ünïcode 🐉', "image": "https://i.example/j.png"}}
    assert (await client.put("/api/user", json=changes, headers=me.auth)).status_code == 200
    mine = [await api.create_article(me, f"Mine {n} «ü»", ["b", f"t{n}", "a"]) for n in range(7)]
    for n in range(6):
        await api.create_article(anna, f"Anna's {n}", ["x"])
        await api.create_article(bob, f'Bob "{n}"')
    await api.follow(me, "anna")
    await api.follow(me, "bob")
    await api.favorite(me, mine[0]["slug"])
    await api.follow(anna, "jake")
    for article in mine[:4]:
        await api.favorite(anna, article["slug"])
        await api.comment(bob, article["slug"])
        await api.favorite(bob, article["slug"])
    listed = (await client.get("/api/notifications?limit=3", headers=me.auth)).json()
    await client.post(
        "/api/notifications/read", json={"upTo": listed["nextCursor"]}, headers=me.auth
    )
    # What its writes dropped is read again in the background: done before the test.
    await services.cache.settle()
    return me


async def dashboard(client: httpx.AsyncClient, user: ApiUser) -> Any:
    response = await client.get("/api/dashboard", headers=user.auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["dashboard"]


@pytest.mark.parametrize("name", STRATEGIES)
async def test_dashboard_is_what_the_single_endpoints_say(
    client: httpx.AsyncClient, jake: ApiUser, strategy: Callable[[str], None], name: str
) -> None:
    strategy(name)
    board = await dashboard(client, jake)

    async def get(url: str) -> Any:
        return (await client.get(url, headers=jake.auth)).json()

    user = (await get("/api/user"))["user"]
    del user["token"]
    assert board["user"] == user
    assert board["articles"] == (await get("/api/articles?author=jake&limit=5"))["articles"]
    assert board["feed"] == (await get("/api/articles/feed?limit=10"))["articles"]
    assert board["notifications"] == (await get("/api/notifications?limit=10"))["notifications"]
    assert board["unreadCount"] == (await get("/api/notifications/unread-count"))["unreadCount"]
    assert (len(board["articles"]), len(board["feed"]), len(board["notifications"])) == (5, 10, 10)
    assert 0 < board["unreadCount"] < 14  # some read, some not: both shapes are compared


async def test_strategies_give_identical_json(
    client: httpx.AsyncClient, jake: ApiUser, strategy: Callable[[str], None]
) -> None:
    boards = []
    for name in STRATEGIES:
        strategy(name)
        boards.append(await dashboard(client, jake))
    assert boards[0] == boards[1] == boards[2]


async def test_new_user_has_an_empty_dashboard_and_a_vanished_one_none(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    services: Services,
    strategy: Callable[[str], None],
) -> None:
    lone, ghost = await quick_user(db, services, "lone"), await quick_user(db, services, "ghost")
    await db.execute("DELETE FROM users WHERE username = 'ghost'")
    for name in STRATEGIES:
        strategy(name)
        assert await dashboard(client, lone) == {
            "user": {"username": "lone", "email": "lone@example.com", "bio": "", "image": ""},
            "articles": [],
            "feed": [],
            "notifications": [],
            "unreadCount": 0,
        }
        assert_error(await client.get("/api/dashboard", headers=ghost.auth), 404)


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("single", {"get-dashboard": 1}),
        *[
            (
                name,
                {
                    "get-user-by-id": 1,
                    "list-articles-by-author-id": 1,
                    "list-feed": 1,
                    "list-notifications": 1,
                    "count-unread-notifications": 1,
                },
            )
            for name in ("concurrent", "sequential")
        ],
    ],
)
async def test_queries_per_strategy(
    client: httpx.AsyncClient,
    jake: ApiUser,
    services: Services,
    strategy: Callable[[str], None],
    name: str,
    queries: dict[str, int],
) -> None:
    strategy(name)
    await services.cache.settle()  # the setup's writes refill the cache in the background
    with counting(services) as counts:
        await dashboard(client, jake)
    # With the cache off, the token's generation (revocation) is read on every request too.
    assert counts == Counter({**queries, "get-token-generation": 1})


@contextmanager
def wrapped_reads(
    wrapper: Callable[[str, Callable[..., Awaitable[Any]], Any, dict[str, Any]], Awaitable[Any]],
) -> Iterator[None]:
    """Route each of the five reads through `wrapper(name, original, db, kwargs)` while open."""
    with pytest.MonkeyPatch.context() as patch:
        for module, name in READS:
            original = getattr(module, name)

            async def read(db: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
                return await wrapper(_name, _original, db, kw)

            patch.setattr(module, name, read)
        yield


async def test_concurrent_reads_run_at_once_each_on_its_own_connection(
    client: httpx.AsyncClient,
    jake: ApiUser,
    services: Services,
    strategy: Callable[[str], None],
) -> None:
    strategy("concurrent")
    expected = await dashboard(client, jake)
    # Each read holds a pool connection and waits for the other four: that only ends if all
    # five are in flight at once, each with a connection of its own.
    meeting = asyncio.Barrier(len(READS))
    pool = services.db.pool
    busy: list[int] = []

    async def meet(_name: str, original: Any, db: Any, kw: dict[str, Any]) -> Any:
        async with db.connection():
            await meeting.wait()
            busy.append(pool.get_size() - pool.get_idle_size())
        return await original(db, **kw)

    with wrapped_reads(meet):
        async with asyncio.timeout(GUARD_SECONDS):
            assert await dashboard(client, jake) == expected
    assert min(busy) >= len(READS)


async def _whole(services: Services) -> None:
    """Every connection of the pool is idle again (after the writes' cache refills)."""
    await services.cache.settle()
    pool = services.db.pool
    assert pool.get_idle_size() == pool.get_size()


@asynccontextmanager
async def no_stray_tasks() -> AsyncIterator[None]:
    """Every task started inside has finished by the end (none left behind, none pending)."""
    before = asyncio.all_tasks()
    yield
    assert asyncio.all_tasks() - before == set()


async def eventually(check: Callable[[], Awaitable[Any]]) -> None:
    """Poll until `check()` is true: PostgreSQL's state has no event to wait on."""
    async with asyncio.timeout(GUARD_SECONDS):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _sleep_in_postgres(db: Any) -> None:
    async with db.connection() as conn:
        await conn.raw.execute("SELECT pg_sleep(60)")


async def test_cancelled_request_leaves_the_pool_whole(
    client: httpx.AsyncClient,
    jake: ApiUser,
    services: Services,
    db: asyncpg.Connection,
    strategy: Callable[[str], None],
) -> None:
    strategy("concurrent")
    started: Counter[str] = Counter()

    async def slow_count(name: str, original: Any, db: Any, kw: dict[str, Any]) -> Any:
        started[name] += 1
        if name == "count_unread":
            await _sleep_in_postgres(db)  # a query still running when the client goes away
        return await original(db, **kw)

    async with no_stray_tasks():
        with wrapped_reads(slow_count):
            request = asyncio.create_task(client.get("/api/dashboard", headers=jake.auth))
            await eventually(lambda: db.fetchval(SLEEPING))
            request.cancel()
            with pytest.raises(asyncio.CancelledError):
                await request
    assert started == Counter(name for _, name in READS)
    await _whole(services)

    # The server-side query was cancelled too, not left to run out its minute.
    async def stopped() -> bool:
        return not await db.fetchval(SLEEPING)

    await eventually(stopped)
    assert (await client.get("/api/dashboard", headers=jake.auth)).status_code == 200


async def test_one_failed_read_fails_the_request_cleanly(
    client: httpx.AsyncClient,
    jake: ApiUser,
    services: Services,
    strategy: Callable[[str], None],
) -> None:
    strategy("concurrent")
    others = [n for _, n in READS if n != "list_feed"]
    holding, cancelled = asyncio.Semaphore(0), []

    async def fail_one(name: str, original: Any, db: Any, kw: dict[str, Any]) -> Any:
        if name == "list_feed":
            for _ in others:  # fail once the other four hold a connection each
                await holding.acquire()
            raise ServiceUnavailableError("the database is unavailable, try again shortly")
        async with db.connection():
            holding.release()
            try:
                await asyncio.Event().wait()  # forever, unless cancelled
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
        return await original(db, **kw)

    async with no_stray_tasks(), asyncio.timeout(GUARD_SECONDS):
        with wrapped_reads(fail_one):
            response = await client.get("/api/dashboard", headers=jake.auth)
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert sorted(cancelled) == sorted(others)
    await _whole(services)


async def _sleep(db: Any, **_kw: Any) -> None:
    await _sleep_in_postgres(db)


@pytest.mark.parametrize("name", STRATEGIES)
async def test_deadline_turns_into_503(
    client: httpx.AsyncClient,
    jake: ApiUser,
    services: Services,
    strategy: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    strategy(name)
    monkeypatch.setattr(services.dashboard.settings, "deadline_seconds", 0.2)
    # The one query of "single", or the last read of the others: the deadline must cut it short.
    monkeypatch.setattr(dashboard_repo, "get_dashboard", _sleep)
    monkeypatch.setattr(notifications, "count_unread", _sleep)
    async with no_stray_tasks(), asyncio.timeout(GUARD_SECONDS):
        response = await client.get("/api/dashboard", headers=jake.auth)
    assert_error(response, 503)
    await _whole(services)
