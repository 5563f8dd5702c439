"""The services container: every domain's service, built once per process by the lifespan.

Kept apart from `app.py` so that what reads the container (the per-domain dependencies in
`api/deps.py`, the fast path, replica routing, telemetry) imports this module, not the
composition root that imports them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from brisk.articles.service import ArticleService
from brisk.cache import Cache
from brisk.cache.bus import subscriber_client
from brisk.cache.outbox import Outbox
from brisk.cache.redis_client import RedisClient
from brisk.comments.service import CommentService
from brisk.dashboard.composed import ComposedDashboard
from brisk.dashboard.service import DashboardService
from brisk.db import Database, Query
from brisk.db.queries import REGISTRY
from brisk.db.routing import primary_only
from brisk.notifications.service import NotificationService
from brisk.overlay import ViewerFlags
from brisk.profiles.service import ProfileService
from brisk.ratelimit import RateLimiter
from brisk.security import TokenCodec
from brisk.settings import Settings
from brisk.tags.service import TagService
from brisk.users.service import UserService


@dataclass
class Services:
    """Everything a request may use, built once per process in the lifespan."""

    settings: Settings
    db: Database
    redis: RedisClient | None
    cache: Cache
    tokens: TokenCodec
    users: UserService
    profiles: ProfileService
    articles: ArticleService
    comments: CommentService
    tags: TagService
    notifications: NotificationService
    dashboard: DashboardService


def all_queries() -> Mapping[str, Query]:
    """Every named query of the app: importing this module imported every domain, and each
    domain's repository registered its SQL as it loaded."""
    return REGISTRY


def build_cache(settings: Settings, redis: RedisClient | None, db: Database) -> Cache:
    if redis is None:  # no shared cache anywhere to keep coherent
        return Cache(settings.cache, None, fill_scope=primary_only)
    # The outbox even when this process reads nothing through the cache: its writes still make
    # other processes' entries stale, and a process with the cache off must not leave them be.
    outbox = Outbox(db, settings.cache.namespace)
    subscriber = subscriber_client(redis) if settings.cache.enabled else None
    return Cache(settings.cache, redis, subscriber, outbox, fill_scope=primary_only)


def build_tokens(settings: Settings) -> TokenCodec:
    return TokenCodec(
        settings.secret,
        settings.auth.token_ttl_seconds,
        previous_secrets=settings.previous_secrets,
        previous_valid_until=settings.auth.previous_secrets_valid_until,
    )


def build_services(settings: Settings, db: Database, redis: RedisClient | None) -> Services:
    cache = build_cache(settings, redis, db)
    tokens = build_tokens(settings)
    limiter = RateLimiter(settings.limits, redis, settings.cache.namespace)
    flags = ViewerFlags(db, cache)
    users = UserService(db, tokens, limiter, cache)
    articles = ArticleService(db, cache, flags)
    notifications = NotificationService(db, cache)
    composed = ComposedDashboard(cache, users, articles, notifications)
    return Services(
        settings=settings,
        db=db,
        redis=redis,
        cache=cache,
        tokens=tokens,
        users=users,
        profiles=ProfileService(db, cache, flags),
        articles=articles,
        comments=CommentService(db, cache, flags),
        tags=TagService(db, cache),
        notifications=notifications,
        dashboard=DashboardService(db, settings.dashboard, cache, composed),
    )
