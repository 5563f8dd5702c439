"""Users (register, login, current user) and profiles (view, follow, unfollow)."""

from __future__ import annotations

import httpx

from tests.integration.conftest import Api, assert_error


async def test_register_login_and_current_user(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    login = {"user": {"email": "JAKE@example.com", "password": jake.password}}
    response = await client.post("/api/users/login", json=login)
    assert response.status_code == 200
    user = response.json()["user"]
    assert (user["username"], user["email"], user["bio"], user["image"]) == (
        "jake",
        "jake@example.com",
        "",
        "",
    )
    me = await client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.json()["user"]["token"] == user["token"]


async def test_login_refuses_wrong_password_and_unknown_email(
    client: httpx.AsyncClient, api: Api
) -> None:
    await api.register("jake")
    wrong = {"user": {"email": "jake@example.com", "password": "not-the-password"}}
    unknown = {"user": {"email": "ghost@example.com", "password": "password123"}}
    assert assert_error(await client.post("/api/users/login", json=wrong), 401) == assert_error(
        await client.post("/api/users/login", json=unknown), 401
    )  # the same words: the answer does not reveal which emails exist


async def test_update_user_and_password(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    changes = {
        "user": {
            "bio": "I like to skateboard",
            "image": "https://i.example/j.png",
            "password": "a-new-password",
        }
    }
    response = await client.put("/api/user", json=changes, headers=jake.auth)
    assert response.status_code == 200
    assert response.json()["user"]["bio"] == "I like to skateboard"
    old = {"user": {"email": jake.email, "password": jake.password}}
    new = {"user": {"email": jake.email, "password": "a-new-password"}}
    assert_error(await client.post("/api/users/login", json=old), 401)
    assert (await client.post("/api/users/login", json=new)).status_code == 200


async def test_follow_and_unfollow(client: httpx.AsyncClient, api: Api) -> None:
    jake = await api.register("jake")
    await api.register("celeb")
    anonymous = (await client.get("/api/profiles/celeb")).json()["profile"]
    assert anonymous == {"username": "celeb", "bio": "", "image": "", "following": False}
    followed = await client.post("/api/profiles/celeb/follow", headers=jake.auth)
    assert followed.json()["profile"]["following"] is True
    seen = await client.get("/api/profiles/celeb", headers=jake.auth)
    assert seen.json()["profile"]["following"] is True
    unfollowed = await client.delete("/api/profiles/celeb/follow", headers=jake.auth)
    assert unfollowed.json()["profile"]["following"] is False
    assert_error(await client.post("/api/profiles/jake/follow", headers=jake.auth), 422)
    assert_error(await client.get("/api/profiles/nobody"), 404)
    assert_error(await client.post("/api/profiles/nobody/follow", headers=jake.auth), 404)
