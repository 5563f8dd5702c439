"""Routes: register, login, current user."""

from __future__ import annotations

from fastapi import APIRouter

from brisk.api.deps import ClientDep, UserServiceDep, ViewerDep
from brisk.responses import JSONBytes
from brisk.users.schemas import (
    UserCreateRequest,
    UserLoginRequest,
    UserResponse,
    UserUpdateRequest,
)

router = APIRouter(tags=["Users"], responses={200: {"model": UserResponse}})


@router.post("/users", status_code=201, responses={201: {"model": UserResponse}})
async def register(
    body: UserCreateRequest, client: ClientDep, service: UserServiceDep
) -> JSONBytes:
    """Register a new user."""
    user = await service.register(body.user, client=client)
    return JSONBytes(user, status_code=201)


@router.post("/users/login")
async def login(body: UserLoginRequest, client: ClientDep, service: UserServiceDep) -> JSONBytes:
    """Log in with email and password."""
    return JSONBytes(await service.login(body.user, client=client))


@router.get("/user")
async def get_current_user(viewer: ViewerDep, service: UserServiceDep) -> JSONBytes:
    """The user the token belongs to."""
    return JSONBytes(await service.get_current_user(user_id=viewer.user_id, token=viewer.token))


@router.put("/user")
async def update_current_user(
    body: UserUpdateRequest, viewer: ViewerDep, service: UserServiceDep
) -> JSONBytes:
    """Update the current user's fields."""
    user = await service.update_current_user(
        user_id=viewer.user_id, token=viewer.token, changes=body.user
    )
    return JSONBytes(user)
