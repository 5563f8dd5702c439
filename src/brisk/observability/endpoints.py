"""GET /metrics (Prometheus text) and, when enabled, GET /_perf and /_perf/data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from brisk.responses import JSONBytes

if TYPE_CHECKING:
    from brisk.observability.setup import Telemetry


def build_router(telemetry: Telemetry, *, metrics: bool = True) -> APIRouter:
    """`metrics`: serve /metrics here (False when it has an address of its own)."""
    router = APIRouter(include_in_schema=False)

    if metrics:

        @router.get("/metrics")
        async def metrics_page() -> Response:
            body, content_type = telemetry.metrics.render()
            return Response(body, media_type=content_type)

    recorder = telemetry.recorder
    if recorder is not None:
        from brisk.observability.perf_page import render_page

        @router.get("/_perf")
        async def perf_page() -> HTMLResponse:
            return HTMLResponse(render_page(recorder.snapshot()))

        @router.get("/_perf/data")
        async def perf_data() -> JSONBytes:
            return JSONBytes(recorder.snapshot())

    return router
