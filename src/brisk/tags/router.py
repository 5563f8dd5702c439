"""Routes: tags."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from brisk.api.cached_reads import CachedRead
from brisk.api.deps import OptionalViewerDep, TagServiceDep
from brisk.responses import JSONBytes


class TagListResponse(BaseModel):
    tags: list[str]


router = APIRouter(tags=["Tags"])
# The tag list has no viewer field: signed in or not, the same bytes (a token is still
# verified, so a bad one is a 401 from the route).
CACHED_READS = (
    CachedRead(
        "/tags", lambda services, _, __, ___: services.cache.peek(services.tags.shared_key())
    ),
)


@router.get("/tags", responses={200: {"model": TagListResponse}})
async def list_tags(service: TagServiceDep, _viewer: OptionalViewerDep) -> JSONBytes:
    """Tags in use, most used first."""
    # The viewer changes nothing here, but a bad token is a 401 as on every other public route.
    return JSONBytes(await service.list_tags())
