"""The GETs the fast path may answer from L1, as their routers declare them.

Each domain's router lists its cacheable reads next to its routes: the path template, the
query parameters the read understands, and its `peek` -- the service's own "this answer from
L1 alone, or None", built from the same keys the route's read fills, so the two cannot drift.
The fast path matches a request against this table and nothing else.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from brisk.services import Services

Params = Mapping[str, str]
# (services, path parameters, query parameters, the signed-in viewer's id or None) -> the
# body a 200 from the full route would send, from L1 alone, or None to let the route answer.
Peek = Callable[["Services", Params, Params, "int | None"], "bytes | None"]

# The pages the fast path reads a `limit`/`offset` as: plain digits, as the routes' bounds
# allow (api/deps.py); anything else is the full route's to validate.
_DIGITS = re.compile(r"[0-9]{1,7}")


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A cacheable GET, `template` as the router spells it (`/articles/{slug}`).

    `query` names the query parameters `peek` understands; a request with any other, or one
    twice, goes to the route. `signed_in`: only a signed-in viewer's (the dashboard, the feed);
    an anonymous request goes to the route, which answers 401.
    """

    template: str
    peek: Peek
    query: frozenset[str] = frozenset()
    signed_in: bool = False


def parse_query(raw: bytes, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query as the routes read it (Starlette's parse), or None when the fast path should
    not answer: an unknown or repeated parameter, or an empty value."""
    if not raw:
        return {}
    found: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in allowed or name in found or not value:
            return None
        found[name] = value
    return found


def page_of(
    query: Params, *, default_limit: int, max_limit: int, max_offset: int
) -> tuple[int, int] | None:
    """(limit, offset) of a page query the routes would accept, or None to let them decide."""
    limit, offset = query.get("limit"), query.get("offset", "0")
    if (limit is not None and not _DIGITS.fullmatch(limit)) or not _DIGITS.fullmatch(offset):
        return None
    size = default_limit if limit is None else int(limit)
    if not 1 <= size <= max_limit or int(offset) > max_offset:
        return None
    return size, int(offset)


@dataclass(frozen=True, slots=True)
class Route:
    """A declared read under its full path, ready to match."""

    template: str  # the full template: the route's metrics label
    read: CachedRead
    segments: tuple[str | None, ...]  # a literal segment, or None for a parameter
    names: tuple[str, ...]  # the parameters' names, in order
    # Paths of literal routes that a parameter would also match (`/api/articles/feed`):
    # FastAPI routes them to their own handler, so the fast path must not answer them.
    reserved: frozenset[str]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        values = []
        for part, literal in zip(parts, self.segments, strict=True):
            if literal is None:
                if not part:
                    return None
                values.append(part)
            elif part != literal:
                return None
        return dict(zip(self.names, values, strict=True))


def _route(template: str, read: CachedRead, literal_paths: Iterable[str]) -> Route:
    segments = tuple(
        None if part.startswith("{") and part.endswith("}") else part
        for part in template.split("/")
    )
    names = tuple(part[1:-1] for part in template.split("/") if part.startswith("{"))
    route = Route(template, read, segments, names, frozenset())
    reserved = {p for p in literal_paths if p != template and route.match(p.split("/"))}
    return Route(template, read, segments, names, frozenset(reserved))


class CachedReads:
    """The table the fast path reads: exact paths by dict, templated ones by segments."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        self._exact = {r.template: r for r in routes if not r.names}
        self._templated = [r for r in routes if r.names]

    @classmethod
    def declared(
        cls, routers: Iterable[tuple[APIRouter, Sequence[CachedRead]]], *, prefix: str
    ) -> CachedReads:
        routes = []
        for router, reads in routers:
            literal = [
                prefix + r.path
                for r in router.routes
                if isinstance(r, APIRoute) and "GET" in (r.methods or ()) and "{" not in r.path
            ]
            routes += [_route(prefix + read.template, read, literal) for read in reads]
        return cls(routes)

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        exact = self._exact.get(path)
        if exact is not None:
            return exact, {}
        if not self._templated:
            return None
        parts = path.split("/")
        for route in self._templated:
            params = route.match(parts)
            if params is not None and path not in route.reserved:
                return route, params
        return None
