"""Responses serialized once with orjson, skipping FastAPI's response-model pass.

A neutral room (not `api/`): the routers, the HTTP edge and telemetry's own endpoints all send
JSON this way, and none of them should import another's package to do it."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSONBytes(JSONResponse):
    """A JSONResponse (so FastAPI documents the route's model as its body) rendered by orjson;
    bytes pass through as they are (a cached body is sent without re-serializing)."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)
