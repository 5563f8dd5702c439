"""Routes: profiles and follows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from pydantic import BaseModel

from brisk.api.cached_reads import CachedRead, Params
from brisk.api.deps import (
    MAX_USERNAME,
    OptionalViewerDep,
    ProfileServiceDep,
    UsernamePath,
    ViewerDep,
    filter_value,
)
from brisk.profiles.views import ProfilePublic
from brisk.responses import JSONBytes

if TYPE_CHECKING:
    from brisk.services import Services


class ProfileResponse(BaseModel):
    profile: ProfilePublic


router = APIRouter(tags=["Profiles"], responses={200: {"model": ProfileResponse}})


def _peek_profile(services: Services, path: Params, viewer_id: int | None) -> bytes | None:
    # Every spelling that folds to a name shares its key, so a hit must first be a path the
    # route accepts (a decomposed name can fold to a cached one and be too long for it).
    username = path["username"]
    if not filter_value(username, MAX_USERNAME):
        return None
    return services.profiles.peek_profile(username, viewer_id)


CACHED_READS = (
    CachedRead(
        "/profiles/{username}",
        lambda services, path, _, viewer: _peek_profile(services, path, viewer),
    ),
)


@router.get("/profiles/{username}")
async def get_profile(
    username: UsernamePath, viewer: OptionalViewerDep, service: ProfileServiceDep
) -> JSONBytes:
    """A user's public profile."""
    viewer_id = viewer.user_id if viewer else None
    return JSONBytes(await service.get_profile(username=username, viewer_id=viewer_id))


@router.post("/profiles/{username}/follow")
async def follow_user(
    username: UsernamePath, viewer: ViewerDep, service: ProfileServiceDep
) -> JSONBytes:
    """Follow a user."""
    profile = await service.follow(username=username, viewer_id=viewer.user_id)
    return JSONBytes(profile)


@router.delete("/profiles/{username}/follow")
async def unfollow_user(
    username: UsernamePath, viewer: ViewerDep, service: ProfileServiceDep
) -> JSONBytes:
    """Stop following a user."""
    profile = await service.unfollow(username=username, viewer_id=viewer.user_id)
    return JSONBytes(profile)
