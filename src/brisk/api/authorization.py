"""The one reader of the Authorization header: the auth dependencies, the cached-read fast path
and the replica routing all take the token from here, so they can never disagree on it.

The rule: at most one Authorization header, of the form ``Token <jwt>`` (or ``Bearer <jwt>``).
A request with two is refused (401) rather than read one way here and another way there: with
the fast path reading the last and the router the first, a cached dashboard once answered for
the second token (issue 14). An empty header counts as none, as it always has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from brisk.errors import AuthenticationRequiredError
from brisk.security import TokenClaims

SCHEMES = ("token", "bearer")
_NAME = b"authorization"
# Where the fast path leaves the token it verified, for the dependencies on a miss: a token is
# verified once per request.
VERIFIED_KEY = "brisk.verified"


@dataclass(frozen=True, slots=True)
class Verified:
    token: str
    claims: TokenClaims
    # True when the claims' generation was found current in L1 (so it need not be read again).
    current: bool


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of the request's one Authorization header; None when it has none.

    `headers` are the ASGI scope's (lower-cased names, raw values). Raises
    AuthenticationRequiredError for a second header or a value that is not a token.
    """
    found: bytes | None = None
    for name, value in headers:
        if name == _NAME:
            if found is not None:
                raise AuthenticationRequiredError("send one Authorization header, not several")
            found = value
    if not found:
        return None
    scheme, _, token = found.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() not in SCHEMES or not token:
        raise AuthenticationRequiredError("authorization header must be 'Token <jwt>'")
    return token
