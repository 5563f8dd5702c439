"""Password hashing (argon2id, off the event loop) and JWT tokens (HS256 only)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from brisk.errors import AuthenticationRequiredError

MAX_ID = 2**63 - 1
# What `sub` must look like: the decimal we wrote. int() alone also takes " 1 ", "+1", "1_0" and
# Arabic-Indic digits, so one user had many spellings of their id (issue 14).
_CANONICAL_ID = re.compile(r"[1-9][0-9]{0,18}")
# Tokens already verified, kept until they expire: a signed-in request checks its token once per
# process instead of every time (PyJWT's decode was 16% of a cached dashboard's CPU, py-spy).
VERIFIED_TOKENS = 8192
# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, t=3, m=64 MiB).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs what a hit costs (no user probing).
_DUMMY_HASH = _hasher.hash("brisk-timing-equaliser")


async def hash_password(password: str) -> str:
    # ~50 ms of CPU: in a worker thread, so other requests keep being served meanwhile.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: whose it is, and the token generation it was issued in."""

    user_id: int
    generation: int


def _claims(payload: dict[str, Any]) -> TokenClaims:
    sub, generation = payload["sub"], payload.get("gen", 0)
    if not isinstance(sub, str) or not sub.isascii() or not _CANONICAL_ID.fullmatch(sub):
        raise ValueError("sub is not a canonical decimal user id")
    user_id = int(sub)
    if not user_id <= MAX_ID:  # ids are PostgreSQL bigints
        raise ValueError("sub is out of range")
    if type(generation) is not int or generation < 0:
        raise ValueError("gen is not a token generation")
    return TokenClaims(user_id, generation)


class TokenCodec:
    """Issues and checks the `Authorization: Token <jwt>` tokens.

    Verification here is the signature, the expiry and the claims' form; whether the token's
    generation is still the user's is checked by the caller (UserService.token_is_current),
    because it changes in the database.
    """

    def __init__(
        self,
        secret: str,
        ttl_seconds: int,
        algorithm: str = "HS256",
        *,
        previous_secrets: Sequence[str] = (),
        previous_valid_until: datetime | None = None,
    ) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._algorithm = algorithm
        # Rotation: tokens are always issued with the current secret; ones signed with a
        # previous secret are accepted until their own exp, or until the cutoff if one is set.
        self._previous = tuple(previous_secrets)
        self._previous_until = previous_valid_until.timestamp() if previous_valid_until else None
        # token -> (its claims, the moment it stops being valid); only tokens that verified.
        self._verified: OrderedDict[str, tuple[TokenClaims, float]] = OrderedDict()

    def issue(self, user_id: int, generation: int = 0) -> str:
        now = int(time.time())
        claims = {"sub": str(user_id), "gen": generation, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def user_id(self, token: str) -> int:
        """The user the token names; any doubt about the token is an authentication error."""
        return self.verify(token).user_id

    def verify(self, token: str) -> TokenClaims:
        """The token's claims, once its signature, expiry and form check out."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        try:
            payload, valid_until = self._decode(token)
            claims = _claims(payload)
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationRequiredError("token has expired") from exc
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as exc:
            raise AuthenticationRequiredError("token is invalid") from exc
        self._verified[token] = (claims, valid_until)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> tuple[dict[str, Any], float]:
        """The claims, and until when the token is valid (its exp, or the retired-secret cutoff)."""
        try:
            claims = self._decode_with(token, self._secret)
            return claims, float(claims["exp"])
        except jwt.InvalidSignatureError:
            if not self._previous:
                raise
        for secret in self._previous:
            try:
                claims = self._decode_with(token, secret)
            except jwt.InvalidSignatureError:
                continue
            valid_until = float(claims["exp"])
            if self._previous_until is not None:
                if time.time() >= self._previous_until:
                    raise jwt.ExpiredSignatureError("signed with a retired secret")
                valid_until = min(valid_until, self._previous_until)
            return claims, valid_until
        raise jwt.InvalidSignatureError("signature verification failed")

    def _decode_with(self, token: str, secret: str) -> dict[str, Any]:
        # Only our algorithm is accepted: "none" and key-confusion tokens fail here.
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[self._algorithm],
            options={"require": ["sub", "exp", "iat"]},
        )
        return claims
