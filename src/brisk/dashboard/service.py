"""GET /api/dashboard: five independent reads, run one of three ways (settings.dashboard), all
under one deadline, all giving the same JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import orjson

from brisk.articles import repository as articles
from brisk.cache import Cache
from brisk.dashboard import repository as repo
from brisk.dashboard.composed import ARTICLES, FEED, NOTIFICATIONS, ComposedDashboard
from brisk.dashboard.views import dashboard_public
from brisk.db import Database
from brisk.errors import NotFoundError, ServiceUnavailableError
from brisk.notifications import repository as notifications
from brisk.settings import DashboardSettings
from brisk.users import repository as users

Read = Callable[[], Coroutine[Any, Any, Any]]


async def run_sequential(reads: list[Read]) -> list[Any]:
    return [await read() for read in reads]


async def run_concurrent(reads: list[Read]) -> list[Any]:
    """All reads at once, each borrowing its own pool connection for its one query."""
    try:
        # A TaskGroup, not gather: when one read fails or the request is cancelled, the others
        # are cancelled and awaited here, so no task outlives the request and every connection
        # is back in the pool (asyncpg shields the release) before the error moves on.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(read()) for read in reads]
    except* Exception as failed:
        # The read's own error (a 404, a 503) for the error handlers, not a group of one.
        raise failed.exceptions[0]  # noqa: B904 - it keeps its own cause
    return [task.result() for task in tasks]


def _dashboard(user: Any, mine: Any, feed: Any, inbox: Any, unread: int) -> dict[str, Any]:
    if user is None:
        raise NotFoundError("user")
    return dashboard_public(user, mine, feed, inbox, unread)


class DashboardService:
    def __init__(
        self,
        db: Database,
        settings: DashboardSettings,
        cache: Cache,
        composed: ComposedDashboard,
    ) -> None:
        self.db = db
        self.settings = settings
        self.cache = cache
        self.composed = composed

    async def get_dashboard(self, *, viewer_id: int) -> bytes:
        """The response body, as JSON bytes: composed from cached parts (their misses read
        concurrently unless the strategy is sequential), or, with the cache off (or Redis
        away), read by the configured strategy; all under one deadline."""
        try:
            async with asyncio.timeout(self.settings.deadline_seconds):
                if self.cache.enabled:
                    run = (
                        run_sequential if self.settings.strategy == "sequential" else run_concurrent
                    )
                    body = await self.composed.get(viewer_id, run)
                    if body is not None:
                        return body
                return await self._load(viewer_id)
        except TimeoutError as exc:
            # The deadline cancelled whatever was in flight; its connections are back already.
            raise ServiceUnavailableError("the dashboard took too long, try again") from exc

    def peek_dashboard(self, viewer_id: int) -> bytes | None:
        return self.composed.peek(viewer_id) if self.cache.enabled else None

    async def _load(self, viewer_id: int) -> bytes:
        strategy = self.settings.strategy
        if strategy == "single":
            return await self._single(viewer_id)
        run = run_concurrent if strategy == "concurrent" else run_sequential
        return orjson.dumps(_dashboard(*await run(self._reads(viewer_id))))

    def _reads(self, viewer_id: int) -> list[Read]:
        """The five reads, in the order _dashboard takes them; none needs another's result."""
        db, me = self.db, viewer_id
        return [
            partial(users.get_user_by_id, db, user_id=me),
            partial(
                articles.list_articles_by_author_id,
                db,
                author_id=me,
                viewer_id=me,
                limit=ARTICLES,
                offset=0,
            ),
            partial(articles.list_feed, db, viewer_id=me, limit=FEED, offset=0),
            partial(
                notifications.list_notifications,
                db,
                recipient_id=me,
                limit=NOTIFICATIONS,
                before=None,
                unread=False,
            ),
            partial(notifications.count_unread, db, recipient_id=me),
        ]

    async def _single(self, viewer_id: int) -> bytes:
        body = await repo.get_dashboard(self.db, viewer_id=viewer_id)
        if body is None:
            raise NotFoundError("user")
        return body.encode()
