"""The dashboard composed from cached parts (ADR 0020): the user's own fields, their newest
articles and feed (id lists and cards, shared with the article lists), their inbox and unread
count, with their flags laid over. A favorite anywhere changes one card, not the dashboard of
everyone whose page shows it; a part is dropped by what changes that part alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from brisk.articles.pages import join_cards
from brisk.articles.service import ArticleService
from brisk.cache import EMBEDDED, Cache, Key, viewer
from brisk.notifications.service import NotificationService
from brisk.users.service import UserService

# How independent reads are run: one after another, or all at once (dashboard/service.py).
Run = Callable[[list[Callable[[], Coroutine[Any, Any, Any]]]], Awaitable[list[Any]]]

# The "single" strategy's SQL (dashboard/queries.sql) has the same sizes as literals.
ARTICLES = 5
FEED = 10
NOTIFICATIONS = 10


def dashboard_body(
    user: bytes, mine: Sequence[bytes], feed: Sequence[bytes], inbox: bytes, unread: int
) -> bytes:
    """The DashboardResponse (dashboard/views.py) from its parts' bytes, without parsing them."""
    return (
        b'{"dashboard":{"user":%b,"articles":%b,"feed":%b,"notifications":%b,"unreadCount":%d}}'
        % (user, join_cards(mine), join_cards(feed), inbox, unread)
    )


@dataclass(frozen=True, slots=True)
class PartKeys:
    mine: Key
    feed: Key
    inbox: Key


class ComposedDashboard:
    def __init__(
        self,
        cache: Cache,
        users: UserService,
        articles: ArticleService,
        notifications: NotificationService,
    ) -> None:
        self.cache = cache
        self.users = users
        self.articles = articles
        self.notifications = notifications

    def versions(self, viewer_id: int) -> list[str]:
        # The feed's tokens first (membership among them), then the inbox's.
        return [*self.articles.feed_versions(viewer_id), EMBEDDED, viewer(viewer_id)]

    def _keys(self, tokens: tuple[str, ...], viewer_id: int) -> PartKeys:
        *feed, embedded, inbox = tokens
        membership = feed[0]
        return PartKeys(
            mine=self.articles.author_key_of(membership, viewer_id, ARTICLES),
            feed=self.articles.feed_key_of(tuple(feed), viewer_id, FEED, 0),
            inbox=self.cache.keys.inbox((embedded, inbox), viewer_id),
        )

    async def get(self, viewer_id: int, run: Run) -> bytes | None:
        """The dashboard from the cache (filling what is missing, the parts' reads run by
        `run`), or None when the tokens cannot be read now (Redis away): then it is read from
        PostgreSQL."""
        tokens = await self.cache.versions(self.versions(viewer_id))
        if tokens is None:
            return None
        keys = self._keys(tokens, viewer_id)
        pages = self.articles.pages
        user, mine, feed, inbox, unread = await run(
            [
                partial(self.users.user_fields, viewer_id),  # NotFoundError: a vanished user
                partial(pages.page, keys.mine, *self.articles.author_rows(viewer_id, ARTICLES)),
                partial(self.articles.feed_page, keys.feed, viewer_id, FEED, 0),
                partial(
                    self.notifications.inbox, keys.inbox, viewer_id=viewer_id, limit=NOTIFICATIONS
                ),
                partial(self.notifications.unread, viewer_id),
            ]
        )
        return dashboard_body(
            user,
            await pages.cards(mine, viewer_id),
            await pages.cards(feed, viewer_id),
            inbox,
            unread,
        )

    def peek(self, viewer_id: int) -> bytes | None:
        """As `get`, from L1 alone (the fast path): None when any part is not there."""
        tokens = self.cache.peek_versions(self.versions(viewer_id))
        if tokens is None:
            return None
        keys = self._keys(tokens, viewer_id)
        pages = self.articles.pages
        user = self.users.peek_user_fields(viewer_id)
        mine, feed = pages.peek_page(keys.mine), pages.peek_page(keys.feed)
        inbox = self.cache.peek(keys.inbox)
        unread = self.notifications.peek_unread(viewer_id)
        if user is None or mine is None or feed is None or inbox is None or unread is None:
            return None
        mine_cards = pages.peek_cards(mine, viewer_id)
        feed_cards = pages.peek_cards(feed, viewer_id)
        if mine_cards is None or feed_cards is None:
            return None
        return dashboard_body(user, mine_cards, feed_cards, inbox, unread)
