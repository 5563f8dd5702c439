"""The `brisk` command: serve, migrate, demo data."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import signal
from typing import Annotated

import typer
from rich.console import Console

from brisk.observability.logs import logging_config
from brisk.observability.multiproc import metrics_dir
from brisk.servers import load_settings, resolved_servers
from brisk.settings import Settings

app = typer.Typer(help="brisk: a fast, measured RealWorld (Conduit) API.", no_args_is_help=True)
console = Console(stderr=True)


def _exit_on_sigterm() -> None:
    # uvicorn re-raises SIGTERM once it has shut down; turning it into SystemExit lets our
    # `finally` stop the embedded servers instead of the process dying mid-way. A stop that was
    # asked for and ran to completion is a clean exit: status 0.
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


@app.command()
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
) -> None:
    """Serve the API (on embedded PostgreSQL and Valkey when no URLs are configured)."""
    import uvicorn

    base = load_settings(**({"dev": True} if dev else {}))
    base.db.workers = workers
    _exit_on_sigterm()
    with resolved_servers(base, console) as settings:
        assert settings.database_url is not None
        if migrate_first or settings.dev or demo:
            _run_migrations(settings)
        if demo:
            from brisk.demo import DEMO_LOGINS, load_demo

            asyncio.run(load_demo(settings.database_url))
            logins = ", ".join(f"{email} / {password}" for email, password in DEMO_LOGINS)
            console.print(f"demo logins (email / password): {logins}")
        _export(settings)
        console.print(f"brisk listening on http://{host}:{port}/api ({workers} worker(s))")
        # Several workers share their metrics through files in one folder (ADR 0007).
        with metrics_dir(workers):
            uvicorn.run(
                "brisk.asgi:create_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                loop="uvloop",
                http="httptools",
                access_log=False,  # brisk writes its own JSON line per request
                log_config=logging_config(),
                log_level="info",
                # X-Forwarded-For is believed only from BRISK_HTTP__TRUSTED_PROXIES (create_app),
                # not from uvicorn's default of any local peer.
                proxy_headers=False,
                timeout_graceful_shutdown=settings.http.shutdown_grace_seconds,
            )


def _run_migrations(settings: Settings) -> None:
    from brisk.db.migrations import migrate as apply

    assert settings.database_url is not None
    # Behind PgBouncer the app cannot send plan_cache_mode when it connects (ADR 0013): it
    # becomes the role's default in this database, which every server connection starts with.
    role_settings = (
        {"plan_cache_mode": settings.db.plan_cache_mode} if settings.db.pgbouncer else {}
    )
    applied = asyncio.run(apply(settings.database_url, role_settings=role_settings))
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none (up to date)"
    console.print(f"migrations applied: {names}")


@app.command()
def migrate() -> None:
    """Apply pending database migrations to BRISK_DATABASE_URL."""
    settings = load_settings(dev=True)  # migrating needs no secret
    if not settings.database_url:
        console.print("[red]BRISK_DATABASE_URL is not set[/red]")
        raise typer.Exit(2)
    _run_migrations(settings)


def _register_lab_commands() -> None:
    from brisk.lab.bench_cli import bench_command
    from brisk.lab.seed import seed_command

    app.command("seed")(seed_command)
    app.command("bench")(bench_command)
    from brisk.doctor.command import doctor_command

    app.command("doctor")(doctor_command)


_register_lab_commands()


def main() -> None:  # pragma: no cover - console entry
    logging.config.dictConfig(logging_config())
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
