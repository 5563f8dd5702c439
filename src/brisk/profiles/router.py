"""Routes: profiles and follows."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from brisk.api.cached_reads import CachedRead
from brisk.api.deps import OptionalViewerDep, ProfileServiceDep, UsernamePath, ViewerDep
from brisk.profiles.views import ProfilePublic
from brisk.responses import JSONBytes


class ProfileResponse(BaseModel):
    profile: ProfilePublic


router = APIRouter(tags=["Profiles"], responses={200: {"model": ProfileResponse}})
CACHED_READS = (
    CachedRead(
        "/profiles/{username}",
        lambda services, path, _, viewer: services.profiles.peek_profile(path["username"], viewer),
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
