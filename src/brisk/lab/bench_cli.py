"""The `brisk bench` command: options, progress bar, and where the report goes."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from brisk.cli.output import JsonFile, JsonFlag, emit_json
from brisk.lab.bench import BenchPlan, run_against_url, run_bench
from brisk.lab.profiles import ALL, Profile
from brisk.lab.report import markdown, print_report
from brisk.lab.report_html import html_page
from brisk.lab.runner import DEFAULT_LAB_SERVER
from brisk.lab.seed import scale_name
from brisk.lab.soak import SoakPlan, parse_duration, print_soak, run_soak
from brisk.lab.wrk import WrkMissingError, wrk_path
from brisk.servers import load_settings, resolved_servers

# Steps that move the bar; anything else only changes its text.
_MAJOR = ("data set", "copies", "generator ceiling (wrk)", "workload", "profile ", "claim")


def _chosen(names: str) -> tuple[Profile, ...]:
    wanted = {name.strip() for name in names.split(",") if name.strip()} | {"before", "after"}
    unknown = wanted - {p.name for p in ALL}
    if unknown:
        known = ", ".join(p.name for p in ALL)
        raise typer.BadParameter(f"unknown profile(s) {', '.join(sorted(unknown))}; one of {known}")
    return tuple(p for p in ALL if p.name in wanted)


# The command's options, one alias each, so its signature reads as a list of names.
Scale = Annotated[
    str, typer.Option(callback=scale_name, metavar="XS|S|M|L", help="data set (brisk seed)")
]
Quick = Annotated[
    bool, typer.Option("--quick", help="XS, before and after only, short runs (1-2 minutes)")
]
ServiceUrl = Annotated[
    str | None, typer.Option(help="measure this running service (seeded by brisk seed) instead")
]
JsonPath = JsonFile
MarkdownPath = Annotated[
    Path | None, typer.Option("--markdown", help="write the Markdown report here")
]
HtmlPath = Annotated[
    Path | None, typer.Option("--html", help="write the HTML report (with plots) here")
]
Seconds = Annotated[float | None, typer.Option(help="length of each measured run")]
MaxSeconds = Annotated[
    float | None,
    typer.Option(help="longest run a slow profile may get (default 40; 10 with --quick)"),
]
Repetitions = Annotated[int | None, typer.Option(min=1, help="closed runs per profile")]
Connections = Annotated[int | None, typer.Option(min=1, help="closed-model clients")]
Seed = Annotated[int, typer.Option(help="data set and request mix seed")]
Keep = Annotated[bool, typer.Option("--keep", help="keep the per-run database copies afterwards")]
Lock = Annotated[
    Path | None, typer.Option(help="flock this file around each measurement (shared machines)")
]
Profiles = Annotated[
    str | None,
    typer.Option(
        help="comma-separated profiles to run (default: all; before and after are always run)"
    ),
]
Soak = Annotated[
    str | None,
    typer.Option(
        help="instead: soak brisk for this long (10m, 90s) at 70% (--soak-load) of its "
        "measured capacity and report memory, errors and P99 over time"
    ),
]
HttpServer = Annotated[
    str,
    typer.Option(
        "--server",
        click_type=click.Choice(["granian", "uvicorn"]),
        metavar="granian|uvicorn",
        help="the HTTP server every profile runs on (granian: as brisk serve ships)",
    ),
]
SoakWindow = Annotated[float, typer.Option(min=1, help="--soak: seconds per reported window")]
SoakLoad = Annotated[
    float,
    typer.Option(
        min=0.05, max=1.0, help="--soak: the arrival rate as a share of the measured capacity"
    ),
]
DatabasePrefix = Annotated[
    str, typer.Option(help="name prefix of the databases it creates", hidden=True)
]
DatabaseUrl = Annotated[
    str | None, typer.Option(envvar="BRISK_DATABASE_URL", help="PostgreSQL (default: embedded)")
]
RedisUrl = Annotated[
    str | None, typer.Option(envvar="BRISK_REDIS_URL", help="Redis (default: embedded)")
]


def bench_command(
    scale: Scale = "S",
    quick: Quick = False,
    url: ServiceUrl = None,
    json_stdout: JsonFlag = False,
    json_path: JsonPath = None,
    markdown_path: MarkdownPath = None,
    html_path: HtmlPath = None,
    seconds: Seconds = None,
    max_seconds: MaxSeconds = None,
    repetitions: Repetitions = None,
    connections: Connections = None,
    seed: Seed = 42,
    keep: Keep = False,
    lock: Lock = None,
    profiles: Profiles = None,
    soak: Soak = None,
    soak_window: SoakWindow = 30.0,
    soak_load: SoakLoad = 0.7,
    server: HttpServer = DEFAULT_LAB_SERVER,
    database_prefix: DatabasePrefix = "brisk_lab",
    database_url: DatabaseUrl = None,
    redis_url: RedisUrl = None,
) -> None:
    """Measure before (naive) against after (brisk), each technique alone, and the article's
    four claims, with wrk and an open-model generator; report in the terminal, JSON, Markdown
    and HTML.

    Creates its own databases on the configured PostgreSQL: brisk_lab_<scale>_<seed> (seeded
    once, reused) and two copies per run. Needs wrk (apt-get install wrk)."""
    console = Console(stderr=True)
    try:
        wrk_path()
    except WrkMissingError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    plan = BenchPlan.quick() if quick else BenchPlan(scale=scale)
    if quick and scale != "S":
        plan.scale = scale
    plan.seed, plan.keep, plan.database_prefix, plan.lock = seed, keep, database_prefix, lock
    plan.server = server
    if profiles:
        plan.profiles = _chosen(profiles)
    plan.seconds = seconds or plan.seconds
    plan.max_seconds = max(plan.seconds, max_seconds or plan.max_seconds)
    plan.repetitions = repetitions or plan.repetitions
    plan.connections = connections or plan.connections
    if soak is not None:
        soaking = SoakPlan(parse_duration(soak), fraction=soak_load, window_seconds=soak_window)
        _soak(plan, soaking, database_url, redis_url, console, (json_stdout, json_path))
        return
    report = _run(plan, url, database_url, redis_url, console)
    emit_json(report, to_stdout=json_stdout, path=json_path)
    if url is not None:
        console.print_json(data=report["service"]["closed"])
        return
    print_report(report, _people(json_stdout))
    _write(report, markdown_path=markdown_path, html_path=html_path)


def _people(json_stdout: bool) -> Console:
    """Where the tables go: stderr when stdout carries the JSON. Piped, rich would wrap at 80
    columns; the tables need about 100."""
    if json_stdout:
        return Console(stderr=True, width=110)
    return Console() if sys.stdout.isatty() else Console(width=110)


def _run(
    plan: BenchPlan,
    url: str | None,
    database_url: str | None,
    redis_url: str | None,
    console: Console,
) -> dict[str, Any]:
    total = 1 + len(plan.profiles) + 4 if url is None else 2
    columns = (SpinnerColumn(), TextColumn("{task.description:<48}"), BarColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("brisk bench", total=total + 2)

        def step(text: str) -> None:
            if text.startswith(_MAJOR):
                bar.advance(task)
            bar.update(task, description=text)

        with tempfile.TemporaryDirectory(prefix="brisk-bench-") as tmp:
            if url is not None:
                return run_against_url(url, plan, step=step, workdir=Path(tmp))
            with _servers(database_url, redis_url, console) as (db, redis):
                return run_bench(
                    plan, database_url=db, redis_url=redis, step=step, workdir=Path(tmp)
                )


def _soak(
    plan: BenchPlan,
    soak: SoakPlan,
    database_url: str | None,
    redis_url: str | None,
    console: Console,
    json_out: tuple[bool, Path | None],
) -> None:
    with (
        console.status("soak") as status,
        tempfile.TemporaryDirectory(prefix="brisk-soak-") as tmp,
        _servers(database_url, redis_url, console) as (db, redis),
    ):
        report = run_soak(
            plan,
            soak,
            database_url=db,
            redis_url=redis,
            step=lambda text: status.update(text),
            workdir=Path(tmp),
        )
    print_soak(report, _people(json_out[0]))
    emit_json(report, to_stdout=json_out[0], path=json_out[1])


@contextmanager
def _servers(
    database_url: str | None, redis_url: str | None, console: Console
) -> Iterator[tuple[str, str | None]]:
    """The configured servers, or embedded ones for the duration (as every command does)."""
    settings = load_settings(dev=True, database_url=database_url, redis_url=redis_url)
    with resolved_servers(settings, console) as resolved:
        assert resolved.database_url is not None
        yield resolved.database_url, resolved.redis_url


def _write(report: dict[str, Any], *, markdown_path: Path | None, html_path: Path | None) -> None:
    if markdown_path:
        markdown_path.write_text(markdown(report))
    if html_path:
        html_path.write_text(html_page(report))
