"""Annotated dependency aliases: who is asking, and the one service a handler calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query, Request

from brisk.api.authorization import VERIFIED_KEY, Verified, bearer_token
from brisk.api.cached_reads import page_of
from brisk.articles.service import ArticleService
from brisk.comments.service import CommentService
from brisk.dashboard.service import DashboardService
from brisk.errors import AuthenticationRequiredError, InvalidInputError
from brisk.notifications.service import NotificationService
from brisk.profiles.service import ProfileService
from brisk.schemas import CURSOR, NO_NUL
from brisk.tags.service import TagService
from brisk.users.service import UserService

if TYPE_CHECKING:
    from brisk.services import Services


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    token: str


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Dependencies are `async def` although they never await: FastAPI runs plain `def` ones in a
# thread pool, which cost a fifth of a list request's CPU (py-spy) for nothing.
def _one_service(name: str) -> Callable[[Request], Awaitable[Any]]:
    async def service(request: Request) -> Any:
        return getattr(_services(request), name)

    service.__name__ = f"{name}_service"
    return service


async def get_services(request: Request) -> Services:
    """The whole container: only for what checks the infrastructure itself (readiness)."""
    return _services(request)


ServicesDep = Annotated["Services", Depends(get_services)]
# Each handler names the one service it calls, so "go to definition" leads from a route to it.
UserServiceDep = Annotated[UserService, Depends(_one_service("users"))]
ProfileServiceDep = Annotated[ProfileService, Depends(_one_service("profiles"))]
ArticleServiceDep = Annotated[ArticleService, Depends(_one_service("articles"))]
CommentServiceDep = Annotated[CommentService, Depends(_one_service("comments"))]
TagServiceDep = Annotated[TagService, Depends(_one_service("tags"))]
NotificationServiceDep = Annotated[NotificationService, Depends(_one_service("notifications"))]
DashboardServiceDep = Annotated[DashboardService, Depends(_one_service("dashboard"))]


async def optional_viewer(request: Request) -> Viewer | None:
    services = _services(request)
    verified: Verified | None = request.scope.get(VERIFIED_KEY)
    if verified is None:  # the fast path did not verify this request's token
        token = bearer_token(request.scope["headers"])
        if token is None:
            return None
        verified = Verified(token, services.tokens.verify(token), current=False)
    if not verified.current and not await services.users.token_is_current(verified.claims):
        raise AuthenticationRequiredError("token has been revoked (password changed)")
    return Viewer(verified.claims.user_id, verified.token)


async def current_viewer(request: Request) -> Viewer:
    viewer = await optional_viewer(request)
    if viewer is None:
        raise AuthenticationRequiredError("authentication required")
    return viewer


async def client_address(request: Request) -> str | None:
    """The client's IP: the peer's, or what a trusted proxy says (ProxyHeadersMiddleware)."""
    return request.client.host if request.client else None


ClientDep = Annotated[str | None, Depends(client_address)]
OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]
ViewerDep = Annotated[Viewer, Depends(current_viewer)]


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


Limit = Annotated[int | None, Query(ge=1, description="items per page (max 100)")]
MAX_OFFSET = 1_000_000


def _limit(request: Request, limit: int | None) -> int:
    http = _services(request).settings.http
    limit = http.default_page_size if limit is None else limit
    if limit > http.max_page_size:
        raise InvalidInputError(f"limit must be at most {http.max_page_size}")
    return limit


async def page(
    request: Request,
    limit: Limit = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page:
    return Page(_limit(request, limit), offset)


PageDep = Annotated[Page, Depends(page)]

# The feed merges each followed author's newest `limit + offset` articles, so a page's cost is
# followees x (limit + offset) (at M, 207 followees: 2,970 rows sorted at offset 0, 27,554 at
# 500, 78,540 at 5,000). Deeper pages are refused with a message, not served slowly.
FEED_MAX_OFFSET = 500


async def feed_page(
    request: Request,
    limit: Limit = None,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=FEED_MAX_OFFSET,
            description=f"at most {FEED_MAX_OFFSET}: the feed shows the followed authors' "
            "recent articles (use /api/articles?author= to go further back)",
        ),
    ] = 0,
) -> Page:
    # The bound is in the schema (OpenAPI and clients see it); validation answers 422.
    return await page(request, limit, offset)


FeedPageDep = Annotated[Page, Depends(feed_page)]


@dataclass(frozen=True, slots=True)
class Keyset:
    """A page that continues strictly before a cursor: stable while newer items arrive."""

    limit: int
    before: int | None


async def keyset(
    request: Request,
    limit: Limit = None,
    before: Annotated[
        str | None, Query(pattern=CURSOR, description="the previous page's nextCursor")
    ] = None,
) -> Keyset:
    return Keyset(_limit(request, limit), None if before is None else int(before))


KeysetDep = Annotated[Keyset, Depends(keyset)]


def page_query(services: Services, query: Mapping[str, str]) -> tuple[int, int] | None:
    """The fast path's reading of `limit`/`offset`, within the bounds `page` enforces."""
    http = services.settings.http
    return page_of(
        query,
        default_limit=http.default_page_size,
        max_limit=http.max_page_size,
        max_offset=MAX_OFFSET,
    )


def filter_value(raw: str | None, max_length: int | None = None) -> bool:
    """Whether a filter value is one FilterValue accepts (the fast path's check); with
    `max_length`, a path value of that bound (UsernamePath)."""
    limit = MAX_FILTER if max_length is None else max_length
    return raw is None or (len(raw) <= limit and "\x00" not in raw)


# Path and query values reach SQL as parameters: bound their size and refuse NUL (422, not 500).
MAX_FILTER = 64
MAX_USERNAME = 64
SlugPath = Annotated[str, Path(max_length=200, pattern=NO_NUL)]
UsernamePath = Annotated[str, Path(max_length=MAX_USERNAME, pattern=NO_NUL)]
FilterValue = Annotated[str | None, Query(max_length=MAX_FILTER, pattern=NO_NUL)]
