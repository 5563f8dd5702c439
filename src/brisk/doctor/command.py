"""The `brisk doctor` command."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from brisk.cli.output import JsonFile, emit_json
from brisk.doctor.budget import BUDGET_BUFFERS, BUDGET_MS, Budget
from brisk.doctor.report import render
from brisk.doctor.run import DEFAULT_MIN_ROWS, run_doctor
from brisk.servers import load_settings, resolved_servers


def doctor_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="print the report as JSON on stdout")
    ] = False,
    min_rows: Annotated[
        int, typer.Option(min=0, help="tables with at least this many rows count as big")
    ] = DEFAULT_MIN_ROWS,
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes to size the pool for")
    ] = None,
    metrics_url: Annotated[
        str | None, typer.Option(help="a running brisk's /metrics, for its cache hit ratio")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="warnings fail too")] = False,
    budget_ms: Annotated[
        float, typer.Option(min=0, help="a hot query's execution time budget per call")
    ] = BUDGET_MS,
    budget_buffers: Annotated[
        int, typer.Option(min=0, help="a hot query's shared buffers budget per call")
    ] = BUDGET_BUFFERS,
    json_file: JsonFile = None,
) -> None:
    """Explain every hot query on BRISK_DATABASE_URL (default: embedded) against its budget
    (time and buffers per call), and check statistics, shared_buffers, indexes, pool size and
    cache.

    Exit status 1 when it finds a problem (an error; with --strict, a warning too).
    """
    settings = load_settings(dev=True)  # reading the database needs no secret
    with resolved_servers(settings, Console(stderr=True), need_redis=False) as resolved:
        report = asyncio.run(
            run_doctor(
                resolved,
                min_rows=min_rows,
                workers=workers,
                metrics_url=metrics_url,
                budget=Budget(budget_ms, budget_buffers),
            )
        )
    emit_json(report.as_json(), to_stdout=json_output, path=json_file)
    if not json_output:
        render(report, Console(width=200))
    if report.problems(strict=strict):
        raise typer.Exit(1)
