"""Routes: the current user's notifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from brisk.api.deps import KeysetDep, NotificationServiceDep, ViewerDep
from brisk.notifications.schemas import (
    NotificationListResponse,
    NotificationRead,
    UnreadCountResponse,
)
from brisk.responses import JSONBytes

router = APIRouter(tags=["Notifications"])
COUNT: dict[int | str, dict[str, Any]] = {200: {"model": UnreadCountResponse}}


@router.get("/notifications", responses={200: {"model": NotificationListResponse}})
async def list_notifications(
    page: KeysetDep, viewer: ViewerDep, service: NotificationServiceDep, unread: bool = False
) -> JSONBytes:
    """Your notifications, newest first (`?unread=true` for the unread ones only)."""
    result = await service.list_notifications(
        viewer_id=viewer.user_id, limit=page.limit, before=page.before, unread=unread
    )
    return JSONBytes(result)


@router.get("/notifications/unread-count", responses=COUNT)
async def count_unread_notifications(
    viewer: ViewerDep, service: NotificationServiceDep
) -> JSONBytes:
    """How many of your notifications are unread."""
    count = await service.count_unread(viewer_id=viewer.user_id)
    return JSONBytes(count)


@router.post("/notifications/read", responses=COUNT)
async def mark_notifications_read(
    body: NotificationRead, viewer: ViewerDep, service: NotificationServiceDep
) -> JSONBytes:
    """Mark your notifications read, by ids or up to a cursor; answers the new unread count."""
    count = await service.mark_read(
        viewer_id=viewer.user_id,
        ids=None if body.ids is None else [int(i) for i in body.ids],
        up_to=None if body.upTo is None else int(body.upTo),
    )
    return JSONBytes(count)
