"""Responses serialized once with orjson, skipping FastAPI's response-model pass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds always present (the conformance suite requires them)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
