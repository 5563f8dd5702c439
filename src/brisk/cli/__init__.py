"""The `brisk` command: serve, migrate, seed, bench, doctor.

Nothing is registered at import: `build_app()` assembles the commands from the rooms that own
them (serve and migrate here, seed and bench in the lab, doctor in the doctor), and `main()` runs
it. Helpers more than one command needs are public in `brisk.servers` (which servers to use)
and `brisk.cli.migrate` (applying migrations).
"""

from __future__ import annotations

import logging.config
from typing import Annotated

import typer

from brisk import __version__
from brisk.observability.logs import logging_config


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"brisk {__version__}")
        raise typer.Exit()


def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print and exit"),
    ] = False,
) -> None:
    """brisk: a fast, measured RealWorld (Conduit) API."""


def build_app() -> typer.Typer:
    from brisk.cli.migrate import migrate
    from brisk.cli.serve import serve
    from brisk.doctor.command import doctor_command
    from brisk.lab.bench_cli import bench_command
    from brisk.lab.seed import seed_command

    app = typer.Typer(help="brisk: a fast, measured RealWorld (Conduit) API.", no_args_is_help=True)
    app.callback()(_options)
    app.command("serve")(serve)
    app.command("migrate")(migrate)
    app.command("seed")(seed_command)
    app.command("bench")(bench_command)
    app.command("doctor")(doctor_command)
    return app


def main() -> None:  # pragma: no cover - console entry
    logging.config.dictConfig(logging_config())
    build_app()()
