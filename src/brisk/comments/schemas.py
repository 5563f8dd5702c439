"""Comment request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel

from brisk.comments.views import CommentPublic
from brisk.schemas import CommentBody, Strict


class CommentCreate(Strict):
    body: CommentBody


class CommentCreateRequest(BaseModel):
    comment: CommentCreate


class CommentResponse(BaseModel):
    comment: CommentPublic


class CommentListResponse(BaseModel):
    comments: list[CommentPublic]
