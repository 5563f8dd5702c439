"""The one table from domain errors to HTTP, in RealWorld's `{"errors": {"body": [...]}}` shape."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from brisk.errors import (
    AlreadyExistsError,
    AuthenticationRequiredError,
    BriskError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from brisk.responses import JSONBytes

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[BriskError], int] = {
    NotFoundError: 404,
    AlreadyExistsError: 422,
    InvalidCredentialsError: 401,
    AuthenticationRequiredError: 401,
    ForbiddenError: 403,
    InvalidInputError: 422,
    ServiceUnavailableError: 503,
    TooManyRequestsError: 429,
}


def error_response(
    status: int, *messages: str, headers: Mapping[str, str] | None = None
) -> JSONBytes:
    return JSONBytes({"errors": {"body": list(messages)}}, status_code=status, headers=headers)


async def _domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BriskError)
    status = next(s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls))
    headers = {}
    if isinstance(exc, AuthenticationRequiredError):
        headers["WWW-Authenticate"] = "Token"
    if isinstance(exc, ServiceUnavailableError | TooManyRequestsError):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(status, exc.message, headers=headers)


_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


# Said instead of pydantic's "String should match pattern '<regex>'": people read these.
PATTERN_MISMATCH = "has characters or a form that is not allowed here"


def _describe(error: Mapping[str, Any]) -> str:
    # ("body", "article", "body") -> "article.body": drop only the root, a field may be "body".
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] in _LOCATION_ROOTS:
        loc = loc[1:]
    where = ".".join(loc)
    if error.get("type") == "json_invalid":
        return "request body is not valid JSON"
    if not where and error.get("type") == "missing":
        return "request body is required"
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") == "string_pattern_mismatch":  # pydantic's message shows the regex
        message = PATTERN_MISMATCH
    return f"{where}: {message}" if where else message


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, *(_describe(e) for e in exc.errors()))


def _resources(app: Any) -> list[tuple[int, re.Pattern[str], str]]:
    """(parameters, path regex, Allow) per documented path, most literal first: the OpenAPI
    document is what clients (and schemathesis) hold the Allow header to."""
    table = getattr(app.state, "allow_by_path", None)
    if table is None:
        table = []
        for path, item in app.openapi()["paths"].items():
            parts = re.split(r"(\{[^/]+\})", path)
            regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            allow = ", ".join(sorted(method.upper() for method in item))
            table.append((path.count("{"), re.compile(f"^{regex}$"), allow))
        table.sort(key=lambda row: row[0])
        app.state.allow_by_path = table
    return cast(list[tuple[int, re.Pattern[str], str]], table)


def _allowed_methods(request: Request, default: str) -> str:
    """The methods of the resource the path names. Starlette names those of the first route that
    matched the path, which for /api/articles/feed is the feed (GET) or, with another method,
    /api/articles/{slug} (PUT, DELETE): two resources mixed."""
    path = request.url.path
    return next(
        (allow for _, regex, allow in _resources(request.app) if regex.match(path)), default
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
    return error_response(exc.status_code, str(exc.detail), headers=headers)


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    # Every handler is `async def`: Starlette runs a plain `def` one on anyio's thread pool,
    # a thread hop per error answer, and those threads held granian's workers at exit
    # (ADR 0003).
    app.add_exception_handler(BriskError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
