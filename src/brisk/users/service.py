"""Registration, login and profile edits; each answers the response body, enveloped JSON."""

from __future__ import annotations

from typing import Any

import orjson

from brisk.cache import EMBEDDED, Cache, Key, Stale, viewer
from brisk.db import Database, Executor
from brisk.db.routing import primary_only
from brisk.errors import InvalidCredentialsError, NotFoundError
from brisk.ratelimit import RateLimiter
from brisk.security import TokenClaims, TokenCodec, hash_password, verify_password
from brisk.users import repository as repo
from brisk.users.schemas import UserCreate, UserLogin, UserUpdate
from brisk.users.views import user_public


def _user(row: Any, token: str) -> bytes:
    return orjson.dumps({"user": user_public(row, token)})


def _with_token(cached: bytes, token: str) -> bytes:
    """{"user": {..., "token": token}} around the cached fields, without re-parsing them."""
    return b'{"user":{"token":' + orjson.dumps(token) + b"," + cached[1:] + b"}"


class UserService:
    def __init__(
        self, db: Database, tokens: TokenCodec, limiter: RateLimiter, cache: Cache
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.limiter = limiter
        self.cache = cache

    async def register(self, new: UserCreate, *, client: str | None) -> bytes:
        # Counted before the ~50 ms password hash, so a flood is refused cheaply.
        await self.limiter.check("register", address=client, account=new.email)
        password_hash = await hash_password(new.password)
        row = await repo.create_user(
            self.db, username=new.username, email=new.email, password_hash=password_hash
        )
        return _user(row, self.tokens.issue(row["id"], row["token_generation"]))

    async def login(self, credentials: UserLogin, *, client: str | None) -> bytes:
        await self.limiter.check("login", address=client, account=credentials.email)
        row = await repo.get_user_by_email(self.db, email=credentials.email)
        password_hash = row["password_hash"] if row else None
        if not await verify_password(password_hash, credentials.password) or row is None:
            raise InvalidCredentialsError()
        return _user(row, self.tokens.issue(row["id"], row["token_generation"]))

    async def token_is_current(self, claims: TokenClaims) -> bool:
        """Whether the token is of its user's current generation (no password change since)."""

        async def load() -> bytes:
            # From the primary: a lagging replica could still hold the generation before a
            # password change, and accept the tokens it revoked.
            with primary_only():
                found = await repo.get_token_generation(self.db, user_id=claims.user_id)
            return b"-" if found is None else b"%d" % found

        key = self.cache.keys.token_generation(claims.user_id)
        current = await self.cache.get_or_load(key, load)
        # A token of a user who no longer exists is not revoked: its routes answer 404 as before.
        return current in (b"-", b"%d" % claims.generation)

    async def get_current_user(self, *, user_id: int, token: str) -> bytes:
        return _with_token(await self.user_fields(user_id), token)

    async def user_fields(self, user_id: int) -> bytes:
        """The user's own fields but the token, as JSON: cached (the dashboard shows them)."""

        async def load() -> bytes:
            row = await repo.get_user_by_id(self.db, user_id=user_id)
            if row is None:
                raise NotFoundError("user")
            fields = user_public(row, "")
            del fields["token"]  # the token is the request's own, never cached
            return orjson.dumps(fields)

        return await self.cache.get_or_load(self.cache.keys.user(user_id), load)

    def peek_user_fields(self, user_id: int) -> bytes | None:
        return self.cache.peek(self.cache.keys.user(user_id))

    async def update_current_user(self, *, user_id: int, token: str, changes: UserUpdate) -> bytes:
        password_hash = await hash_password(changes.password) if changes.password else None
        async with self.db.transaction() as tx:
            row = await repo.update_user(
                tx,
                user_id=user_id,
                username=changes.username,
                email=changes.email,
                password_hash=password_hash,
                bio=changes.bio,
                image=changes.image,
            )
            if row is None:
                raise NotFoundError("user")
            stale = await self._stale(tx, row, profile_changed=changes.shows_in_profile())
        await self.cache.invalidate(stale)
        if password_hash is not None:  # the request's own token was just revoked with the rest
            token = self.tokens.issue(row["id"], row["token_generation"])
        return _user(row, token)

    async def _stale(self, tx: Executor, row: Any, *, profile_changed: bool) -> Stale:
        keys = self.cache.keys
        dropped: list[Key] = [keys.user(row["id"]), keys.token_generation(row["id"])]
        versions = [viewer(row["id"])]
        if profile_changed:
            # Articles, cards and comment lists embed their author's profile: drop each one
            # that shows this user (a rare write; notifications follow EMBEDDED).
            authored = await repo.list_authored(tx, user_id=row["id"])
            dropped += [keys.profile(row["old_username"]), keys.profile(row["username"])]
            dropped += [keys.article(slug) for slug in authored.slugs]
            dropped += [keys.card(article_id) for article_id in authored.ids]
            dropped += [keys.comments(slug) for slug in authored.commented]
            versions.append(EMBEDDED)
        return await self.cache.stale(tx, dropped, versions)
