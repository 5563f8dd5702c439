"""Routes: comments of an article."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from brisk.api.cached_reads import CachedRead
from brisk.api.deps import CommentServiceDep, OptionalViewerDep, SlugPath, ViewerDep
from brisk.comments.schemas import CommentCreateRequest, CommentListResponse, CommentResponse
from brisk.comments.service import DEFAULT_PAGE
from brisk.responses import JSONBytes

router = APIRouter(tags=["Comments"])
MAX_COMMENTS_PAGE = 500
# The default page only (no query): the one that is cached.
CACHED_READS = (
    CachedRead(
        "/articles/{slug}/comments",
        lambda services, path, _, viewer: services.comments.peek_comments(path["slug"], viewer),
    ),
)


@router.get("/articles/{slug}/comments", responses={200: {"model": CommentListResponse}})
async def list_comments(
    slug: SlugPath,
    viewer: OptionalViewerDep,
    service: CommentServiceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_COMMENTS_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONBytes:
    """An article's comments, newest first."""
    body = await service.list_comments(
        slug=slug, viewer_id=viewer.user_id if viewer else None, limit=limit, offset=offset
    )
    return JSONBytes(body)


@router.post("/articles/{slug}/comments", responses={200: {"model": CommentResponse}})
async def create_comment(
    slug: SlugPath, body: CommentCreateRequest, viewer: ViewerDep, service: CommentServiceDep
) -> JSONBytes:
    """Comment on an article."""
    comment = await service.create_comment(
        slug=slug, author_id=viewer.user_id, body=body.comment.body
    )
    return JSONBytes(comment)


@router.delete("/articles/{slug}/comments/{id}", status_code=204)
async def delete_comment(
    slug: SlugPath,
    comment_id: Annotated[int, Path(alias="id", ge=1, le=2**63 - 1)],
    viewer: ViewerDep,
    service: CommentServiceDep,
) -> Response:
    """Delete one of your comments."""
    await service.delete_comment(slug=slug, comment_id=comment_id, viewer_id=viewer.user_id)
    return Response(status_code=204)
