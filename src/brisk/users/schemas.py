"""User request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, model_validator

from brisk.schemas import Bio, Email, ImageUrl, Lenient, Password, Username


class UserCreate(Lenient):
    username: Username
    email: Email
    password: Password


class UserLogin(Lenient):
    email: Email
    password: Password


class UserUpdate(Lenient):
    username: Username | None = None
    email: Email | None = None
    password: Password | None = None
    bio: Bio | None = None
    image: ImageUrl | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> UserUpdate:
        if not self.model_fields_set:
            raise ValueError("at least one field is required")
        return self


class UserCreateRequest(BaseModel):
    user: UserCreate


class UserLoginRequest(BaseModel):
    user: UserLogin


class UserUpdateRequest(BaseModel):
    user: UserUpdate


class UserPublic(BaseModel):
    email: str
    token: str
    username: str
    bio: str
    image: str


class UserResponse(BaseModel):
    user: UserPublic
