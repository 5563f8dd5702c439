"""The `brisk` command: serve, migrate, seed, bench, doctor.

Nothing is registered at import: `build_app()` assembles the commands from the rooms that own
them (serve and migrate here, seed and bench in the lab, doctor in the doctor), and `main()` runs
it. Helpers more than one command needs are public in `brisk.servers` (which servers to use)
and `brisk.cli.migrate` (applying migrations).
"""

from __future__ import annotations

import logging.config

import typer

from brisk.observability.logs import logging_config


def build_app() -> typer.Typer:
    from brisk.cli.migrate import migrate
    from brisk.cli.serve import serve
    from brisk.doctor.command import doctor_command
    from brisk.lab.bench_cli import bench_command
    from brisk.lab.seed import seed_command

    app = typer.Typer(help="brisk: a fast, measured RealWorld (Conduit) API.", no_args_is_help=True)
    app.command("serve")(serve)
    app.command("migrate")(migrate)
    app.command("seed")(seed_command)
    app.command("bench")(bench_command)
    app.command("doctor")(doctor_command)
    return app


def main() -> None:  # pragma: no cover - console entry
    logging.config.dictConfig(logging_config())
    build_app()()
