"""The /_perf page: self-contained HTML (perf_page.html), charts drawn on canvas by a few lines
of inline JS (no CDN, nothing fetched but /_perf/data). The first data comes inline, so the
page renders at once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson


@functools.cache
def _template() -> str:
    return Path(__file__).with_name("perf_page.html").read_text(encoding="utf-8")


def render_page(snapshot: dict[str, Any]) -> str:
    # `<` escaped so no value can close the script element it is embedded in.
    data = orjson.dumps(snapshot).decode().replace("<", "\\u003c")
    return _template().replace("__DATA__", data)
