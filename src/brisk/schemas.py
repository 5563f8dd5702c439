"""Field types shared by every domain's request schemas: the size limits live here, once."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.-]+$")
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
Bio = Annotated[str, StringConstraints(max_length=2000)]
ImageUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]
ArticleBody = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MAX_TAGS = 20


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so nobody sets a server-owned one by accident."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Lenient(BaseModel):
    """For bodies that frontends pad with extra fields (the user form sends its token back)."""

    model_config = ConfigDict(extra="ignore")


class ProfilePublic(BaseModel):
    username: str
    bio: str
    image: str
    following: bool
