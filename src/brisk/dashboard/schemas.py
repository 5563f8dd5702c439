"""Dashboard response body (for the OpenAPI document; the service builds plain JSON)."""

from __future__ import annotations

from pydantic import BaseModel

from brisk.articles.schemas import ArticleCard
from brisk.notifications.schemas import NotificationPublic


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
