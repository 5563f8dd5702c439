"""The ASGI entry point for servers: `uvicorn --factory brisk.asgi:create_from_env`."""

from __future__ import annotations

from fastapi import FastAPI

from brisk.app import create_app
from brisk.settings import Settings


def create_from_env() -> FastAPI:
    return create_app(Settings(), drain_on_sigterm=True)
