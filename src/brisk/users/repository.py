"""SQL for users; unique violations become domain errors naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from brisk.db import Executor, drain, load_queries
from brisk.errors import AlreadyExistsError

Q = load_queries(Path(__file__).with_name("queries.sql"))

UserRow = asyncpg.Record
# Where the batched reads of what a user wrote start: after every key (newest first), or
# before every id.
_LATEST = datetime.max.replace(tzinfo=UTC)
_LAST_ID = 2**63 - 1
_FIRST_ID = 0

_FIELD_BY_CONSTRAINT = {
    "users_username_key": "username",
    "users_username_folded_key": "username",  # the same name in another case or width
    "users_email_key": "email",
}


def _taken(exc: asyncpg.UniqueViolationError) -> AlreadyExistsError:
    return AlreadyExistsError(_FIELD_BY_CONSTRAINT.get(exc.constraint_name or "", "value"))


async def get_user_by_id(db: Executor, *, user_id: int) -> UserRow | None:
    return await db.fetchrow(Q["get-user-by-id"], user_id)


async def get_user_by_email(db: Executor, *, email: str) -> UserRow | None:
    return await db.fetchrow(Q["get-user-by-email"], email)


async def create_user(db: Executor, *, username: str, email: str, password_hash: str) -> UserRow:
    try:
        row = await db.fetchrow(Q["create-user"], username, email, password_hash)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    assert row is not None
    return row


async def update_user(
    db: Executor,
    *,
    user_id: int,
    username: str | None,
    email: str | None,
    password_hash: str | None,
    bio: str | None,
    image: str | None,
) -> UserRow | None:
    try:
        return await db.fetchrow(
            Q["update-user"], user_id, username, email, password_hash, bio, image
        )
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc


async def get_token_generation(db: Executor, *, user_id: int) -> int | None:
    """The generation the user's tokens must carry; None when the user does not exist."""
    value = await db.fetchval(Q["get-token-generation"], user_id)
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class Authored:
    """What shows a user as an author: their articles, and the articles they commented on."""

    slugs: list[str]
    ids: list[int]
    commented: list[str]


async def list_authored(db: Executor, *, user_id: int) -> Authored:
    """Everything the user wrote, a bounded batch a statement (queries.sql)."""
    articles = await drain(db, Q["list-user-articles-batch"], user_id, _LATEST, _LAST_ID)
    commented = await drain(db, Q["list-user-commented-batch"], user_id, _FIRST_ID)
    return Authored(
        slugs=[slug for slugs, _ in articles for slug in slugs],
        ids=[article_id for _, ids in articles for article_id in ids],
        # An article commented on in two batches comes back twice: once is enough.
        commented=list(dict.fromkeys(slug for (slugs,) in commented for slug in slugs)),
    )
