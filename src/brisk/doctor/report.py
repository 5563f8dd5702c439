"""The doctor's report for people (rich tables) and machines (--json)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from brisk.doctor.model import Report

STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _queries(report: Report) -> Table:
    flagged = {f.subject for f in report.findings if f.check == "seq_scan"}
    table = Table(
        title="Hot queries: EXPLAIN (ANALYZE, BUFFERS), parameters from the data, warm run"
    )
    table.add_column("query")
    for name in ("exec ms", "plan ms", "buffers hit/read", "rows"):
        table.add_column(name, justify="right")
    table.add_column("indexes used")
    table.add_column("seq scans")
    for q in sorted(report.queries, key=lambda q: -q.execution_ms):
        scans = ", ".join(q.seq_scans) or "-"
        table.add_row(
            f"[bold red]{q.name}[/]" if q.over_budget else q.name,
            f"{q.execution_ms:.3f}",
            f"{q.planning_ms:.3f}",
            f"{q.shared_hit_blocks}/{q.shared_read_blocks}",
            str(q.rows),
            ", ".join(q.indexes) or "-",
            f"[bold red]{scans}[/]" if q.name in flagged else scans,
        )
    return table


def render(report: Report, console: Console) -> None:
    console.print(f"[bold]brisk doctor[/bold] on {report.database}")
    big = sorted(t for t, n in report.tables.items() if n >= report.min_rows)
    console.print(f"tables with ≥ {report.min_rows:,} rows: {', '.join(big) or 'none'}")
    if report.queries:
        console.print(_queries(report))
    memory = report.memory
    if memory:
        ratio = memory["hit_ratio"]
        console.print(
            f"memory: shared_buffers {memory['shared_buffers_bytes'] / 2**20:,.0f} MiB, hot "
            f"queries' indexes {memory['hot_index_bytes'] / 2**20:,.0f} MiB, buffer hit ratio "
            f"{'n/a' if ratio is None else f'{ratio:.2%}'}"
        )
    pool = report.pool
    if pool:
        console.print(
            f"pool: {pool['pool_max_size']} per process x {pool['workers']} worker(s) = "
            f"{pool['wanted']} of {pool['available']} available connections "
            f"(max_connections {pool['max_connections']}; {pool['connections_now']} open now)"
        )
    for source, data in report.cache.items():
        if source == "redis_server":
            ratio = data["ratio"]
            shown = "n/a" if ratio is None else f"{ratio:.1%}"
            console.print(
                f"cache: Redis server keyspace hit ratio {shown} "
                f"({data['keyspace_hits']:,} hits, {data['keyspace_misses']:,} misses; "
                "whole server)"
            )
        else:
            for layer, c in data.items():
                console.print(
                    f"cache: {layer} hit ratio {c['ratio']:.1%} "
                    f"({c.get('hit', 0):.0f} hits, {c.get('miss', 0):.0f} misses, "
                    f"{c.get('error', 0):.0f} errors; this app)"
                )
    for f in report.findings:
        console.print(
            f"[{STYLE[f.severity]}]{f.severity:7}[/] {f.check:13} {f.subject}: {f.message}"
        )
    problems = report.problems()
    if problems:
        console.print(f"[bold red]{len(problems)} problem(s)[/bold red]")
    else:
        console.print("[bold green]no problems found[/bold green]")
