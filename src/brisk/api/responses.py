"""Responses serialized once with orjson, skipping FastAPI's response-model pass."""

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
