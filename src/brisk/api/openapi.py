"""The OpenAPI document as the server really behaves: every error status an operation can answer,
in the RealWorld envelope, and the page-size cap the settings set (checked by schemathesis in
tests/integration/test_fuzz.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from brisk.api.deps import current_viewer, optional_viewer
from brisk.settings import Settings


class ErrorBody(BaseModel):
    body: list[str]


class ErrorResponse(BaseModel):
    """RealWorld's error format: `{"errors": {"body": ["..."]}}`."""

    errors: ErrorBody


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
ERRORS: dict[int, str] = {
    400: "the body could not be parsed (not UTF-8, nested too deep)",
    401: "missing, malformed, expired or forged token",
    403: "not your article or comment",
    404: "no such article, profile, comment or user",
    413: "request body over the size cap",
    422: "invalid input, or a rule it breaks (taken username, following yourself)",
    429: "too many login or register attempts",
    503: "the database is unavailable or busy",
}
# Operations that can answer these beside the statuses every /api operation shares.
FORBIDDEN = {("put", "/api/articles/{slug}"), ("delete", "/api/articles/{slug}")} | {
    ("delete", "/api/articles/{slug}/comments/{id}")
}
RATE_LIMITED = {("post", "/api/users"), ("post", "/api/users/login")}
# Lists and counts of your own things: nothing to be missing.
NEVER_404 = {
    ("get", "/api/articles"),
    ("get", "/api/articles/feed"),
    ("get", "/api/tags"),
    ("get", "/api/notifications"),
    ("get", "/api/notifications/unread-count"),
    ("post", "/api/notifications/read"),
}


# The RealWorld spec's operationIds (generated clients name their methods after them), then
# brisk's own operations in the same style.
OPERATION_IDS = {
    ("post", "/api/users/login"): "Login",
    ("post", "/api/users"): "CreateUser",
    ("get", "/api/user"): "GetCurrentUser",
    ("put", "/api/user"): "UpdateCurrentUser",
    ("get", "/api/profiles/{username}"): "GetProfileByUsername",
    ("post", "/api/profiles/{username}/follow"): "FollowUserByUsername",
    ("delete", "/api/profiles/{username}/follow"): "UnfollowUserByUsername",
    ("get", "/api/articles/feed"): "GetArticlesFeed",
    ("get", "/api/articles"): "GetArticles",
    ("post", "/api/articles"): "CreateArticle",
    ("get", "/api/articles/{slug}"): "GetArticle",
    ("put", "/api/articles/{slug}"): "UpdateArticle",
    ("delete", "/api/articles/{slug}"): "DeleteArticle",
    ("get", "/api/articles/{slug}/comments"): "GetArticleComments",
    ("post", "/api/articles/{slug}/comments"): "CreateArticleComment",
    ("delete", "/api/articles/{slug}/comments/{id}"): "DeleteArticleComment",
    ("post", "/api/articles/{slug}/favorite"): "CreateArticleFavorite",
    ("delete", "/api/articles/{slug}/favorite"): "DeleteArticleFavorite",
    ("get", "/api/tags"): "GetTags",
    ("get", "/api/notifications"): "GetNotifications",
    ("get", "/api/notifications/unread-count"): "GetUnreadNotificationsCount",
    ("post", "/api/notifications/read"): "MarkNotificationsRead",
    ("get", "/api/dashboard"): "GetDashboard",
    ("get", "/health/live"): "GetLiveness",
    ("get", "/health/ready"): "GetReadiness",
}
# RealWorld's scheme: the header carries "Token <jwt>" (not "Bearer").
TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "`Token <jwt>`, the token from register or login.",
}


def _auth(dependant: Dependant) -> str | None:
    """ "required" or "optional" when the operation reads the token, else None."""
    calls = {d.call for d in dependant.dependencies}
    if current_viewer in calls:
        return "required"
    found = {_auth(d) for d in dependant.dependencies} - {None}
    if "required" in found:
        return "required"
    return "optional" if optional_viewer in calls or found else None


def _api_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """(method, path as documented) -> the route, through included routers."""
    # FastAPI 0.16x includes routers lazily; its route contexts show the prefixed path and
    # pass every other attribute through to the route. Older versions list routes directly.
    contexts: Any = getattr(routing, "iter_route_contexts", iter)(app.routes)
    return {
        (method.lower(), context.path_format): context
        for context in contexts
        if isinstance(getattr(context, "original_route", context), routing.APIRoute)
        for method in context.methods or ()
    }


def _describe_operation(operation: dict[str, Any], key: tuple[str, str], route: Any) -> None:
    """operationId, security and a single success status, from the route itself."""
    operation["operationId"] = OPERATION_IDS.get(key, operation["operationId"])
    auth = _auth(route.dependant)
    if auth is not None:
        # Optional: anonymous works too (the empty requirement), a token personalises.
        operation["security"] = [{"Token": []}] if auth == "required" else [{}, {"Token": []}]
    success = str(route.status_code or 200)
    for status in [s for s in operation.get("responses", {}) if s.startswith("2")]:
        if status != success:  # a router-wide 200 default on a 201 operation
            del operation["responses"][status]


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    if not path.startswith("/api/"):
        return [503] if path == "/health/ready" else []
    statuses = [401, 422, 503]
    if "requestBody" in operation:
        statuses += [400, 413]
    if (method, path) not in NEVER_404:
        statuses.append(404)
    if (method, path) in FORBIDDEN:
        statuses.append(403)
    if (method, path) in RATE_LIMITED:
        statuses.append(429)
    return sorted(statuses)


def _set_page_cap(operation: dict[str, Any], max_page_size: int) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["name"] != "limit" or parameter["in"] != "query":
            continue
        schema = parameter["schema"]
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "integer" and "maximum" not in branch:
                branch["maximum"] = max_page_size


def document(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """An `app.openapi` replacement: FastAPI's document, completed once, then cached."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorBody"] = ErrorBody.model_json_schema()
        components["ErrorResponse"] = ErrorResponse.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["ErrorResponse"].pop("$defs", None)
        schema["components"]["securitySchemes"] = {"Token": TOKEN_SCHEME}
        routes = _api_routes(app)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                _describe_operation(operation, (method, path), routes[(method, path)])
                _set_page_cap(operation, settings.http.max_page_size)
                responses = operation.setdefault("responses", {})
                for status in error_statuses(method, path, operation):
                    responses[str(status)] = {
                        "description": ERRORS[status],
                        "content": {"application/json": {"schema": ref}},
                        **({"headers": RETRY_AFTER} if status in (429, 503) else {}),
                    }
        app.openapi_schema = schema
        return schema

    return openapi
