"""User request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from brisk.schemas import (
    Bio,
    Email,
    ImageUrl,
    Lenient,
    Password,
    Username,
    patch_schema,
    refuse_nulls,
)
from brisk.users.views import UserPublic


class UserCreate(Lenient):
    username: Username
    email: Email
    password: Password


class UserLogin(Lenient):
    email: Email
    password: Password


class UserUpdate(Lenient):
    """Absent fields stay as they are; an explicit null is refused, as in the article update."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=patch_schema)

    username: Username | None = None
    email: Email | None = None
    password: Password | None = None
    bio: Bio | None = None
    image: ImageUrl | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> UserUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one field is required")
        refuse_nulls(self)
        return self

    def shows_in_profile(self) -> bool:
        """True when the change is visible in the profile others see (and articles embed)."""
        return any(v is not None for v in (self.username, self.bio, self.image))


class UserCreateRequest(BaseModel):
    user: UserCreate


class UserLoginRequest(BaseModel):
    user: UserLogin


class UserUpdateRequest(BaseModel):
    user: UserUpdate


class UserResponse(BaseModel):
    user: UserPublic
