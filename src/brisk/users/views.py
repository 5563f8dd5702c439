"""The signed-in user on the wire, defined once (tests/unit/test_views.py holds the builder to
it). The token is the request's own: it is never cached with the other fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class UserPublic(BaseModel):
    email: str
    token: str
    username: str
    bio: str
    image: str


def user_public(row: Any, token: str) -> dict[str, Any]:
    return {
        "email": row["email"],
        "token": token,
        "username": row["username"],
        "bio": row["bio"],
        "image": row["image"],
    }
