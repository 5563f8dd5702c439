"""The GETs the fast path may answer from L1, as their routers declare them.

Each domain's router lists its cacheable reads next to its routes: the path template, the
function that names the cache key a response is stored under (the same service method the
route's own read uses, so the two cannot drift), and whether the key is one signed-in
viewer's. The fast path matches a request against this table and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from brisk.cache import Key
    from brisk.services import Services

Params = Mapping[str, str]
SharedKey = Callable[["Services", Params], "Key"]
ViewerKey = Callable[["Services", int], Awaitable["Key | None"]]


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A cacheable GET, `template` as the router spells it (`/articles/{slug}`), and one of:

    * `key`: the body is everyone's; the key from the path's parameters. Only an anonymous
      request may be answered with it (a signed-in viewer's flags are their own).
    * `viewer_key`: the body is one viewer's; the key from their id (a valid token is needed),
      or None when it cannot be trusted now.
    """

    template: str
    key: SharedKey | None = None
    viewer_key: ViewerKey | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.viewer_key is None):
            raise ValueError(f"{self.template}: give exactly one of key and viewer_key")

    @property
    def viewer(self) -> bool:
        return self.viewer_key is not None


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
