"""Liveness (the process answers) and readiness (its database and Redis answer)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.responses import Response

from brisk.api.deps import ServicesDep
from brisk.api.errors import error_response
from brisk.api.responses import JSONBytes

router = APIRouter(tags=["Health"], include_in_schema=True)
READY_TIMEOUT_SECONDS = 1.0


@router.get("/health/live")
async def live() -> JSONBytes:
    """The process is up."""
    return JSONBytes({"status": "ok"})


@router.get("/health/ready", responses={503: {"description": "a dependency is down"}})
async def ready(services: ServicesDep) -> Response:
    """The database (and Redis, when configured) answer within a second."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with services.db.connection() as conn:
                await conn.raw.fetchval("SELECT 1")
            if services.redis is not None:
                await services.redis.ping()
    except Exception as exc:
        return error_response(503, f"not ready: {type(exc).__name__}", headers={"Retry-After": "1"})
    return JSONBytes({"status": "ok"})
