"""The ASGI entry point for servers: `brisk serve` (granian or uvicorn) builds the app here."""

from __future__ import annotations

import ctypes
import os
import signal

from fastapi import FastAPI

from brisk.api.drain import PARENT_ENV
from brisk.app import create_app
from brisk.settings import Settings

PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """A granian worker outlives a SIGKILLed main process (it is re-parented and keeps serving
    on the shared socket). Ask Linux to send it SIGTERM when its parent dies, which stops it
    as any SIGTERM does."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or os.getppid() != int(parent):
        return  # not a worker of `brisk serve` (uvicorn in-process, tests, a bare granian)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: no such call
        return
    if os.getppid() != int(parent):  # the parent died before the call took effect
        os.kill(os.getpid(), signal.SIGTERM)


def create_from_env() -> FastAPI:
    _stop_with_parent()
    return create_app(Settings(), drain_on_sigterm=True)
