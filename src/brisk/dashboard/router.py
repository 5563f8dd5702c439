"""Routes: the dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from brisk.api.cached_reads import CachedRead
from brisk.api.deps import DashboardServiceDep, ViewerDep
from brisk.dashboard.views import DashboardResponse
from brisk.responses import JSONBytes

router = APIRouter(tags=["Dashboard"])
# One viewer's own body: the key carries the version tokens of all that can change it.
CACHED_READS = (
    CachedRead(
        "/dashboard",
        lambda services, _, __, viewer: (
            None if viewer is None else services.dashboard.peek_dashboard(viewer)
        ),
        signed_in=True,
    ),
)


@router.get("/dashboard", responses={200: {"model": DashboardResponse}})
async def get_dashboard(viewer: ViewerDep, service: DashboardServiceDep) -> JSONBytes:
    """You, your 5 latest articles, your feed's 10 latest, your 10 latest notifications."""
    return JSONBytes(await service.get_dashboard(viewer_id=viewer.user_id))
