"""A profile on the wire, defined once: alone, as an article's or comment's author, and as a
notification's actor. tests/unit/test_views.py holds the builder, and the dashboard's SQL, to
this model field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


class ProfilePublic(BaseModel):
    username: str
    bio: str
    image: str
    following: bool


@dataclass(frozen=True, slots=True)
class ProfileColumns:
    """The columns a row keeps a profile in: its own, or an embedded author's or actor's."""

    username: str
    bio: str
    image: str
    following: str

    @classmethod
    def prefixed(cls, prefix: str) -> ProfileColumns:
        return cls(f"{prefix}username", f"{prefix}bio", f"{prefix}image", f"{prefix}following")


OWN = ProfileColumns.prefixed("")
AUTHOR = ProfileColumns.prefixed("author_")
ACTOR = ProfileColumns.prefixed("actor_")


def profile_public(
    row: Any, columns: ProfileColumns = OWN, *, following: bool | None = None
) -> dict[str, Any]:
    return {
        "username": row[columns.username],
        "bio": row[columns.bio],
        "image": row[columns.image],
        "following": row[columns.following] if following is None else following,
    }
