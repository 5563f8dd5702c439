"""Notification request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brisk.notifications.views import NotificationPublic
from brisk.schemas import Cursor, Strict, no_nulls, refuse_nulls

MAX_IDS = 100


def _one_of_schema(schema: dict[str, Any]) -> None:
    no_nulls(schema)
    schema.update(minProperties=1, maxProperties=1)


class NotificationRead(Strict):
    """Mark read: these ids, or everything up to and including this cursor (one of the two)."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema)

    ids: list[Cursor] | None = Field(default=None, min_length=1, max_length=MAX_IDS)
    upTo: Cursor | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> NotificationRead:
        if len(self.model_fields_set) != 1:
            raise ValueError("give either ids or upTo")
        refuse_nulls(self)
        return self


class NotificationListResponse(BaseModel):
    notifications: list[NotificationPublic]
    nextCursor: str | None = Field(
        description="pass as `before` for the next page; null at the end"
    )


class UnreadCountResponse(BaseModel):
    unreadCount: int
