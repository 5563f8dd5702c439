"""The one table from domain errors to HTTP, in RealWorld's `{"errors": {"body": [...]}}` shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from brisk.api.responses import JSONBytes
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


def _domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BriskError)
    status = next(s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls))
    headers = {}
    if isinstance(exc, AuthenticationRequiredError):
        headers["WWW-Authenticate"] = "Token"
    if isinstance(exc, ServiceUnavailableError | TooManyRequestsError):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(status, exc.message, headers=headers)


_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


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
    message = str(error.get("msg", "is invalid"))
    return f"{where}: {message}" if where else message


def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, *(_describe(e) for e in exc.errors()))


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves on this path: Starlette names only the first route's."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BriskError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
