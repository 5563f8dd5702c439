"""Routes: tags."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from brisk.api.deps import TagServiceDep
from brisk.api.responses import JSONBytes


class TagListResponse(BaseModel):
    tags: list[str]


router = APIRouter(tags=["Tags"])


@router.get("/tags", responses={200: {"model": TagListResponse}})
async def list_tags(service: TagServiceDep) -> JSONBytes:
    """Tags in use, most used first."""
    return JSONBytes(await service.list_tags())
