"""Liveness (the process answers) and readiness (it can serve: PostgreSQL answers, not draining).

Redis is not part of readiness: the cache and the rate limits fail open without it (ADR 0006,
ADR 0009), so an outage costs speed, not answers. Failing readiness on it would take every
instance out of the load balancer at once; a degraded Redis is reported in the body and in
`brisk_dependency_up` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from brisk.api.deps import ServicesDep
from brisk.api.errors import error_response
from brisk.responses import JSONBytes

router = APIRouter(tags=["Health"], include_in_schema=True)
READY_TIMEOUT_SECONDS = 1.0

Check = Literal["ok", "down", "off"]


class Readiness(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    redis: Check


@router.get("/health/live")
async def live() -> JSONBytes:
    """The process is up."""
    return JSONBytes({"status": "ok"})


async def _answers(probe: Callable[[], Awaitable[object]] | None) -> Check:
    if probe is None:
        return "off"
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await probe()
    except Exception:
        return "down"
    return "ok"


async def _select_one(services: ServicesDep) -> None:
    async with services.db.connection() as conn:
        await conn.raw.fetchval("SELECT 1")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"description": "draining, or PostgreSQL does not answer"}},
)
async def ready(request: Request, services: ServicesDep) -> Response:
    """Can serve: PostgreSQL answers within a second and the process is not draining."""
    if request.app.state.drain.draining:
        return error_response(503, "not ready: draining", headers={"Retry-After": "1"})
    redis_ping = services.redis.ping if services.redis is not None else None
    database, redis = await asyncio.gather(
        _answers(lambda: _select_one(services)), _answers(redis_ping)
    )
    metrics = request.app.state.telemetry.metrics
    metrics.dependency_up.labels("database").set(database == "ok")
    if redis != "off":
        metrics.dependency_up.labels("redis").set(redis == "ok")
    if database != "ok":
        return error_response(503, "not ready: database down", headers={"Retry-After": "1"})
    status = "ok" if redis != "down" else "degraded"
    return JSONBytes({"status": status, "database": database, "redis": redis})
