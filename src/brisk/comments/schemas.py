"""Comment request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel

from brisk.schemas import CommentBody, ProfilePublic, Strict


class CommentCreate(Strict):
    body: CommentBody


class CommentCreateRequest(BaseModel):
    comment: CommentCreate


class CommentPublic(BaseModel):
    id: int
    createdAt: str
    updatedAt: str
    body: str
    author: ProfilePublic


class CommentResponse(BaseModel):
    comment: CommentPublic


class CommentListResponse(BaseModel):
    comments: list[CommentPublic]
