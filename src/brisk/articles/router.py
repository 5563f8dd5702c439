"""Routes: article lists, feed, CRUD and favorites."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.responses import Response

from brisk.api.cached_reads import CachedRead, Params
from brisk.api.deps import (
    ArticleServiceDep,
    FeedPageDep,
    FilterValue,
    OptionalViewerDep,
    PageDep,
    SlugPath,
    ViewerDep,
    filter_value,
    page_query,
)
from brisk.articles.repository import ArticleFilter
from brisk.articles.schemas import (
    ArticleCreateRequest,
    ArticleListResponse,
    ArticleResponse,
    ArticleUpdateRequest,
)
from brisk.names import tag_lookup
from brisk.responses import JSONBytes

if TYPE_CHECKING:
    from brisk.services import Services

router = APIRouter(tags=["Articles"])


def _peek_list(services: Services, query: Params, viewer_id: int | None) -> bytes | None:
    page, tag = page_query(services, query), query.get("tag")
    if page is None or not filter_value(tag):
        return None
    filters = ArticleFilter(tag=tag_lookup(tag))
    return services.articles.peek_list(filters, *page, viewer_id)


def _peek_feed(services: Services, query: Params, viewer_id: int | None) -> bytes | None:
    page = page_query(services, query)
    if page is None or viewer_id is None:
        return None
    return services.articles.peek_feed(viewer_id, *page)


CACHED_READS = (
    CachedRead(
        "/articles/{slug}",
        lambda services, path, _, viewer: services.articles.peek_article(path["slug"], viewer),
    ),
    CachedRead(
        "/articles",
        lambda services, _, query, viewer: _peek_list(services, query, viewer),
        query=frozenset({"limit", "offset", "tag"}),
    ),
    CachedRead(
        "/articles/feed",
        lambda services, _, query, viewer: _peek_feed(services, query, viewer),
        query=frozenset({"limit", "offset"}),
        signed_in=True,
    ),
)
LIST: dict[int | str, dict[str, Any]] = {200: {"model": ArticleListResponse}}
ONE: dict[int | str, dict[str, Any]] = {200: {"model": ArticleResponse}}


@router.get("/articles", responses=LIST)
async def list_articles(
    page: PageDep,
    viewer: OptionalViewerDep,
    service: ArticleServiceDep,
    tag: FilterValue = None,
    author: FilterValue = None,
    favorited: FilterValue = None,
) -> JSONBytes:
    """Most recent articles, optionally by tag, author or who favorited them."""
    body = await service.list_articles(
        filters=ArticleFilter(author=author, tag=tag_lookup(tag), favorited_by=favorited),
        viewer_id=viewer.user_id if viewer else None,
        limit=page.limit,
        offset=page.offset,
    )
    return JSONBytes(body)


@router.get("/articles/feed", responses=LIST)
async def list_feed(page: FeedPageDep, viewer: ViewerDep, service: ArticleServiceDep) -> JSONBytes:
    """Most recent articles by the users the current user follows."""
    body = await service.list_feed(viewer_id=viewer.user_id, limit=page.limit, offset=page.offset)
    return JSONBytes(body)


@router.post("/articles", status_code=201, responses={201: {"model": ArticleResponse}})
async def create_article(
    body: ArticleCreateRequest, viewer: ViewerDep, service: ArticleServiceDep
) -> JSONBytes:
    """Create an article."""
    created = await service.create_article(author_id=viewer.user_id, new=body.article)
    return JSONBytes(created, status_code=201)


@router.get("/articles/{slug}", responses=ONE)
async def get_article(
    slug: SlugPath, viewer: OptionalViewerDep, service: ArticleServiceDep
) -> JSONBytes:
    """One article, with its body."""
    viewer_id = viewer.user_id if viewer else None
    return JSONBytes(await service.get_article(slug=slug, viewer_id=viewer_id))


@router.put("/articles/{slug}", responses=ONE)
async def update_article(
    slug: SlugPath, body: ArticleUpdateRequest, viewer: ViewerDep, service: ArticleServiceDep
) -> JSONBytes:
    """Update one of your articles (a new title gives it a new slug)."""
    article = await service.update_article(
        slug=slug, viewer_id=viewer.user_id, changes=body.article
    )
    return JSONBytes(article)


@router.delete("/articles/{slug}", status_code=204)
async def delete_article(slug: SlugPath, viewer: ViewerDep, service: ArticleServiceDep) -> Response:
    """Delete one of your articles."""
    await service.delete_article(slug=slug, viewer_id=viewer.user_id)
    return Response(status_code=204)


@router.post("/articles/{slug}/favorite", responses=ONE)
async def favorite_article(
    slug: SlugPath, viewer: ViewerDep, service: ArticleServiceDep
) -> JSONBytes:
    """Favorite an article."""
    article = await service.favorite(slug=slug, viewer_id=viewer.user_id, on=True)
    return JSONBytes(article)


@router.delete("/articles/{slug}/favorite", responses=ONE)
async def unfavorite_article(
    slug: SlugPath, viewer: ViewerDep, service: ArticleServiceDep
) -> JSONBytes:
    """Remove a favorite."""
    article = await service.favorite(slug=slug, viewer_id=viewer.user_id, on=False)
    return JSONBytes(article)
