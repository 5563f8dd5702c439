"""Field types shared by every domain's request schemas: the size limits live here, once."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

# PostgreSQL text cannot hold NUL; refusing it here turns a would-be 500 into a 422.
NO_NUL = r"^[^\x00]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = AfterValidator(_no_nul)

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.-]+$")
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=254,
        pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256), Text]
Bio = Annotated[str, StringConstraints(max_length=2000), Text]
ImageUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), Text]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Text]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), Text
]
ArticleBody = Annotated[str, StringConstraints(min_length=1, max_length=100_000), Text]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=10_000), Text]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Text]
MAX_TAGS = 20
# A keyset cursor: a notification id as a string, opaque to clients (and safe from JavaScript's
# 2^53). At most 18 digits, so it always fits a bigint: a bad one is a 422, never a 500.
CURSOR = r"^[1-9][0-9]{0,17}$"
Cursor = Annotated[str, StringConstraints(pattern=CURSOR)]


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
