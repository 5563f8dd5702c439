"""Routes: article lists, feed, CRUD and favorites."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from brisk.api.deps import (
    FilterValue,
    OptionalViewerDep,
    PageDep,
    ServicesDep,
    SlugPath,
    ViewerDep,
)
from brisk.api.responses import JSONBytes
from brisk.articles.repository import ArticleFilter
from brisk.articles.schemas import (
    ArticleCreateRequest,
    ArticleListResponse,
    ArticleResponse,
    ArticleUpdateRequest,
)

router = APIRouter(tags=["Articles"])
LIST: dict[int | str, dict[str, Any]] = {200: {"model": ArticleListResponse}}
ONE: dict[int | str, dict[str, Any]] = {200: {"model": ArticleResponse}}


@router.get("/articles", responses=LIST)
async def list_articles(
    page: PageDep,
    viewer: OptionalViewerDep,
    services: ServicesDep,
    tag: FilterValue = None,
    author: FilterValue = None,
    favorited: FilterValue = None,
) -> JSONBytes:
    """Most recent articles, optionally by tag, author or who favorited them."""
    body = await services.articles.list_articles(
        filters=ArticleFilter(author=author, tag=tag, favorited_by=favorited),
        viewer_id=viewer.user_id if viewer else None,
        limit=page.limit,
        offset=page.offset,
    )
    return JSONBytes(body)


@router.get("/articles/feed", responses=LIST)
async def list_feed(page: PageDep, viewer: ViewerDep, services: ServicesDep) -> JSONBytes:
    """Most recent articles by the users the current user follows."""
    result = await services.articles.list_feed(
        viewer_id=viewer.user_id, limit=page.limit, offset=page.offset
    )
    return JSONBytes(result)


@router.post("/articles", status_code=201, responses={201: {"model": ArticleResponse}})
async def create_article(
    body: ArticleCreateRequest, viewer: ViewerDep, services: ServicesDep
) -> JSONBytes:
    """Create an article."""
    article = await services.articles.create_article(author_id=viewer.user_id, new=body.article)
    return JSONBytes({"article": article}, status_code=201)


@router.get("/articles/{slug}", responses=ONE)
async def get_article(
    slug: SlugPath, viewer: OptionalViewerDep, services: ServicesDep
) -> JSONBytes:
    """One article, with its body."""
    viewer_id = viewer.user_id if viewer else None
    return JSONBytes(await services.articles.get_article(slug=slug, viewer_id=viewer_id))


@router.put("/articles/{slug}", responses=ONE)
async def update_article(
    slug: SlugPath, body: ArticleUpdateRequest, viewer: ViewerDep, services: ServicesDep
) -> JSONBytes:
    """Update one of your articles (a new title gives it a new slug)."""
    article = await services.articles.update_article(
        slug=slug, viewer_id=viewer.user_id, changes=body.article
    )
    return JSONBytes({"article": article})


@router.delete("/articles/{slug}", status_code=204)
async def delete_article(slug: SlugPath, viewer: ViewerDep, services: ServicesDep) -> Response:
    """Delete one of your articles."""
    await services.articles.delete_article(slug=slug, viewer_id=viewer.user_id)
    return Response(status_code=204)


@router.post("/articles/{slug}/favorite", responses=ONE)
async def favorite_article(slug: SlugPath, viewer: ViewerDep, services: ServicesDep) -> JSONBytes:
    """Favorite an article."""
    article = await services.articles.favorite(slug=slug, viewer_id=viewer.user_id, on=True)
    return JSONBytes({"article": article})


@router.delete("/articles/{slug}/favorite", responses=ONE)
async def unfavorite_article(slug: SlugPath, viewer: ViewerDep, services: ServicesDep) -> JSONBytes:
    """Remove a favorite."""
    article = await services.articles.favorite(slug=slug, viewer_id=viewer.user_id, on=False)
    return JSONBytes({"article": article})
