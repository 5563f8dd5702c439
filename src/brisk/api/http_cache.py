"""HTTP caching, the third level: an ETag on every successful GET, 304 for a matching
`If-None-Match`, and a `Cache-Control` that says who may keep a response. These are the rules;
the fast path applies them to what it answers, `api.response_headers` to everything else.

The ETag is a hash of the exact bytes about to be sent, computed when they are sent, so it can
never outlive an invalidation: after a write the body differs, and so does its tag. A 304
saves the client the transfer and the parse; the server still finds the body (on a cache hit,
that is the cheap part).

Who may store what:

* a successful anonymous GET is everyone's (without a token, the URL alone decides the body):
  `public, no-cache`, so any cache may keep it but must revalidate it before each use;
* everything else (a viewer's flags, a token in a registration, login or user answer, errors)
  is `private, no-store`, so no shared cache (a CDN, a corporate proxy) keeps it.

Every answer under `/api` also says `Vary: Authorization`: the same URL answers a signed-in
viewer differently, and a shared cache must not hand one to the other.
"""

from __future__ import annotations

import hashlib

from starlette.types import Scope, Send

from brisk.api.authorization import bearer_token
from brisk.errors import AuthenticationRequiredError

SHARED = b"public, no-cache"
PRIVATE = b"private, no-store"
VARY = (b"vary", b"Authorization")
_IF_NONE_MATCH = b"if-none-match"
_JSON = b"application/json"


def etag(body: bytes) -> bytes:
    """A strong validator for these bytes: 96 bits of BLAKE2b (about 1 µs for a 2 KB body)."""
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


# The fast path sends the same few bodies again and again, so their tags are remembered, keyed
# by the bytes themselves: equal bytes have equal tags, so a remembered tag can never outlive an
# invalidation (after a write the body differs, and so does its key). The fast path composes
# its bodies from L1 per request (a slice, or a viewer's flags laid in), so the key is the
# content, not the object: a lookup costs a hash and a compare of the body (SipHash, about a
# third of BLAKE2b's time). Bounded: cleared when full (a few hits recompute, nothing goes wrong).
_TAGS: dict[bytes, bytes] = {}
MAX_REMEMBERED_TAGS = 256


def cached_etag(body: bytes) -> bytes:
    """etag(body), remembered: for the fast path's few hot bodies, not for ones that are new
    on every request (they would only fill the table)."""
    tag = _TAGS.get(body)
    if tag is None:
        tag = etag(body)
        if len(_TAGS) >= MAX_REMEMBERED_TAGS:
            _TAGS.clear()
        _TAGS[body] = tag
    return tag


def if_none_match(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == _IF_NONE_MATCH:
            return value
    return None


def not_modified(condition: bytes | None, tag: bytes) -> bool:
    """RFC 9110 §13.1.2: `*`, or any listed tag equal by the weak comparison."""
    if condition is None:
        return False
    condition = condition.strip()
    if condition == b"*":
        return True
    return any(candidate.strip().removeprefix(b"W/") == tag for candidate in condition.split(b","))


def cache_headers(tag: bytes | None, control: bytes) -> list[tuple[bytes, bytes]]:
    validator = [] if tag is None else [(b"etag", tag)]
    return [*validator, (b"cache-control", control), VARY]


def control_for(scope: Scope, status: int) -> bytes:
    """Only a successful anonymous GET is everyone's; anything else is one client's."""
    if scope["method"] != "GET" or status != 200:
        return PRIVATE
    try:
        anonymous = bearer_token(scope["headers"]) is None
    except AuthenticationRequiredError:
        anonymous = False  # answered 401 by the route; private like every error
    return SHARED if anonymous else PRIVATE


async def send_not_modified(send: Send, tag: bytes, control: bytes) -> None:
    # No body and no Content-Length: a 304 describes the representation the client holds.
    headers = cache_headers(tag, control)
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
