"""The dashboard on the wire, defined once: the model (the OpenAPI document's), the builder the
concurrent and sequential strategies use, and the shape dashboard/queries.sql builds for the
single strategy, which tests/unit/test_views.py checks key by key against the model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from brisk.articles.views import ArticleCard, article_card
from brisk.notifications.views import NotificationPublic, notification_public


class DashboardUser(BaseModel):
    username: str
    email: str
    bio: str
    image: str


class Dashboard(BaseModel):
    user: DashboardUser
    articles: list[ArticleCard]
    feed: list[ArticleCard]
    notifications: list[NotificationPublic]
    unreadCount: int


class DashboardResponse(BaseModel):
    dashboard: Dashboard


def dashboard_public(
    user: Any, mine: list[Any], feed: list[Any], inbox: list[Any], unread: int
) -> dict[str, Any]:
    return {
        "dashboard": {
            "user": {
                "username": user["username"],
                "email": user["email"],
                "bio": user["bio"],
                "image": user["image"],
            },
            "articles": [article_card(r) for r in mine],
            "feed": [article_card(r) for r in feed],
            "notifications": [notification_public(r) for r in inbox],
            "unreadCount": unread,
        }
    }
