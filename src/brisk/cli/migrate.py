"""`brisk migrate`, and applying migrations for any command that needs them (serve --dev)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from brisk.cli.output import JsonFile, JsonFlag, emit_json
from brisk.servers import EXIT_CONFIGURATION, load_settings, require_database
from brisk.settings import Settings


def run_migrations(settings: Settings, console: Console) -> list[str]:
    """Apply the pending migrations to settings.database_url, say which ran, return them."""
    from brisk.db.migrations import migrate as apply

    assert settings.database_url is not None
    # Behind PgBouncer the app cannot send plan_cache_mode when it connects (ADR 0013): it
    # becomes the role's default in this database, which every server connection starts with.
    role_settings = (
        {"plan_cache_mode": settings.db.plan_cache_mode} if settings.db.pgbouncer else {}
    )
    applied = asyncio.run(apply(settings.database_url, role_settings=role_settings))
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    console.print(f"migrations applied: {', '.join(names) or 'none (up to date)'}")
    return names


async def _recount(database_url: str) -> dict[str, int]:
    import asyncpg

    from brisk.db.counters import recount
    from brisk.db.pool import Connection

    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            return await recount(Connection(conn, []))
    finally:
        await conn.close()


Recount = Annotated[
    bool,
    typer.Option(
        "--recount",
        help="then rebuild every stored counter from the rows, in one transaction (after a "
        "rolling upgrade that added a counter; see the README's Upgrading)",
    ),
]


def migrate(
    json_stdout: JsonFlag = False, json_file: JsonFile = None, recount: Recount = False
) -> None:
    """Apply pending database migrations to BRISK_DATABASE_URL."""
    console = Console(stderr=True)
    settings = load_settings(dev=True)  # migrating needs no secret
    if not settings.database_url:
        console.print("[red]BRISK_DATABASE_URL is not set[/red]")
        raise typer.Exit(EXIT_CONFIGURATION)
    require_database(settings, console)
    applied = run_migrations(settings, console)
    report: dict[str, object] = {"applied": applied}
    if recount:
        corrected = asyncio.run(_recount(settings.database_url))
        drift = {name: rows for name, rows in corrected.items() if rows}
        console.print(f"counters recounted: {drift or 'no drift'}")
        report["recounted"] = corrected
    emit_json(report, to_stdout=json_stdout, path=json_file)
