"""`brisk serve`: the API on granian or uvicorn, on the configured or the embedded servers."""

from __future__ import annotations

import asyncio
import os
import signal
import typing
from typing import Annotated

import click
import typer
from rich.console import Console

from brisk.cli import http_server
from brisk.cli.migrate import run_migrations
from brisk.observability.multiproc import metrics_dir
from brisk.servers import load_settings, resolved_servers
from brisk.settings import Settings


def _exit_on_sigterm() -> None:
    # uvicorn re-raises SIGTERM once it has shut down (granian installs its own handler);
    # turning it into SystemExit lets our `finally` stop the embedded servers instead of the
    # process dying mid-way. A stop that was asked for and ran to completion is a clean exit.
    def handler(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def _export(settings: Settings) -> None:
    """Hand the resolved settings to worker processes, which build theirs from the environment."""
    os.environ["BRISK_DATABASE_URL"] = settings.database_url or ""
    os.environ["BRISK_REDIS_URL"] = settings.redis_url or ""
    os.environ["BRISK_DB__WORKERS"] = str(settings.db.workers)
    if settings.dev:
        os.environ["BRISK_DEV"] = "1"


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    dev: Annotated[
        bool, typer.Option("--dev", help="development mode: dev secret allowed")
    ] = False,
    demo: Annotated[bool, typer.Option("--demo", help="load a small demo data set")] = False,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="apply migrations (default in dev)")
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            click_type=click.Choice(typing.get_args(http_server.Server)),
            metavar="granian|uvicorn",
            help="HTTP server [default: BRISK_HTTP__SERVER, else granian]",
        ),
    ] = None,
) -> None:
    """Serve the API (on embedded PostgreSQL and Valkey when no URLs are configured)."""
    configured = load_settings(**({"dev": True} if dev else {}))
    # A new object, not an edit of the loaded one: settings never change once built.
    base = configured.model_copy(
        update={"db": configured.db.model_copy(update={"workers": workers})}
    )
    console = Console(stderr=True)
    _exit_on_sigterm()
    with resolved_servers(base, console) as settings:
        assert settings.database_url is not None
        if migrate_first or settings.dev or demo:
            run_migrations(settings, console)
        if demo:
            from brisk.demo import DEMO_LOGINS, load_demo

            asyncio.run(load_demo(settings.database_url))
            logins = ", ".join(f"{email} / {password}" for email, password in DEMO_LOGINS)
            console.print(f"demo logins (email / password): {logins}", soft_wrap=True)
        _export(settings)
        chosen = typing.cast(http_server.Server, server or settings.http.server)
        console.print(
            f"brisk listening on http://{host}:{port}/api ({workers} worker(s), {chosen})"
        )
        # Several workers share their metrics through files in one folder (ADR 0007).
        with metrics_dir(workers):
            http_server.run(chosen, settings, host=host, port=port, workers=workers)
