"""`brisk bench --soak 10m`: brisk as shipped under a steady open-model load at a share (70%) of
its measured capacity for a long time, in consecutive windows: resident memory, errors and
latency quantiles over time. A report, not a pass/fail test: leaks and slow drifts show here.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from brisk.lab import databases
from brisk.lab.bench import BenchPlan, Step, _machine, held, seeded
from brisk.lab.profiles import AFTER
from brisk.lab.runner import LAB_SERVER_ENV, Server, cpus, drive
from brisk.lab.soak_probes import cpu_ms, snapshot, window_facts
from brisk.lab.workload import build_requests, sample_service, write_requests

# Targets of issues 7 and 14: memory grows by less than this over the soak's second half,
# nothing fails, and no window's P99 is more than this many times the first window's.
RSS_GROWTH_LIMIT_PCT = 5.0
P99_LIMIT_FACTOR = 2.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")


def parse_duration(text: str) -> float:
    """'10m', '90s', '1h' or plain seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 10m, 90s or 1h)")
    number, unit = match.groups()
    return float(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


@dataclass
class SoakPlan:
    seconds: float = 600.0
    fraction: float = 0.7  # arrival rate as a share of the measured capacity
    window_seconds: float = 30.0
    capacity_seconds: float = 10.0


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc; 0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def errors_by_status(result: Any) -> dict[str, int]:
    """A window's errors by cause: each refused status ("503": 2), and "no answer" for failed
    connections and reads and requests still unanswered at the end (timeouts)."""
    refused = {s: n for s, n in sorted(result.statuses.items()) if not s.startswith(("2", "3"))}
    unanswered = result.errors - sum(refused.values())
    return refused | ({"no answer": unanswered} if unanswered > 0 else {})


def _window(index: int, started: float, result: Any, rss: int, seconds: float) -> dict[str, Any]:
    return {
        "window": index,
        "t_s": round(time.monotonic() - started, 1),
        "seconds": round(seconds, 1),  # from the probe before to the probe after
        "requests": result.requests,
        "errors": result.errors,
        "errors_by_status": errors_by_status(result),
        "throughput_rps": round(result.throughput_rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "max_ms": round(result.max_ms, 2),
        "rss_mb": round(rss / 2**20, 1),
    }


def soak_server(
    url: str,
    pid: int,
    requests_file: Path,
    soak: SoakPlan,
    step: Step,
    lock: Path | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Measure capacity, then hold `fraction` of it for `seconds`, window by window (each
    window under `lock`, so a shared machine's other measurements can take turns), with what
    else happened in each (brisk.lab.soak_probes; PostgreSQL's side from `database_url`)."""
    generator = cpus()[0]
    step("soak: warm-up and capacity (closed model)")
    with held(lock):
        drive(url, requests_file, min(5.0, soak.capacity_seconds), connections=16, cpu=generator)
        before = cpu_ms(pid)
        capacity = drive(url, requests_file, soak.capacity_seconds, connections=16, cpu=generator)
        closed_us = _us_a_request(before, cpu_ms(pid), capacity.requests)
    rate = max(1.0, round(capacity.throughput_rps * soak.fraction, 1))
    rss_start = rss_bytes(pid)
    windows: list[dict[str, Any]] = []
    started = time.monotonic()
    # A fixed number of windows of measured load (each generator run also starts and drains,
    # so the wall time is a little longer than `seconds`).
    count = max(1, math.ceil(soak.seconds / soak.window_seconds))
    seen = snapshot(url, database_url, pid)
    for index in range(count):
        seconds = min(soak.window_seconds, soak.seconds - index * soak.window_seconds)
        step(f"soak: window {index + 1}/{count} at {rate:g} req/s")
        probed = time.monotonic()
        with held(lock):
            result = drive(url, requests_file, max(1.0, seconds), rate=rate, cpu=generator)
        now = snapshot(url, database_url, pid)
        windows.append(
            _window(len(windows) + 1, started, result, rss_bytes(pid), time.monotonic() - probed)
        )
        windows[-1]["facts"] = window_facts(seen, now)
        seen = now
    # The same closed-model measure at the end: a fixed arrival rate that was 70% of the
    # capacity at the start is more of a smaller one, and queues grow much faster near 100%.
    step("soak: capacity again (closed model)")
    with held(lock):
        after = drive(url, requests_file, soak.capacity_seconds, connections=16, cpu=generator)
    report = _report(capacity.throughput_rps, rate, rss_start, windows)
    report["capacity_after_rps"] = round(after.throughput_rps, 1)
    # The server's CPU a request when 16 connections keep it busy: against the windows' own
    # (open model, requests arriving one by one), what the rate's share of it really costs.
    report["capacity_server_us"] = closed_us
    return report


def _us_a_request(before: dict[str, float], after: dict[str, float], requests: int) -> float:
    used = after.get("server_cpu_ms", 0.0) - before.get("server_cpu_ms", 0.0)
    return round(1000 * used / requests, 1) if requests else 0.0


def _report(
    capacity: float, rate: float, rss_start: int, windows: list[dict[str, Any]]
) -> dict[str, Any]:
    # Growth is judged over the second half: the bounded caches (prepared statements,
    # asyncpg's buffers, L1: what was used within its TTL, a few MB at S, each window's `l1 MB`)
    # fill during the first, and a leak keeps growing after they are full. From the first
    # window is reported too.
    first, middle, last = (windows[i]["rss_mb"] for i in (0, len(windows) // 2, -1))
    growth = 100.0 * (last - middle) / middle if middle else 0.0
    from_first = 100.0 * (last - first) / first if first else 0.0
    errors = sum(w["errors"] for w in windows)
    by_status: dict[str, int] = {}
    for w in windows:
        for status, n in w["errors_by_status"].items():
            by_status[status] = by_status.get(status, 0) + n
    p99s = [w["p99_ms"] for w in windows]
    return {
        "capacity_rps": round(capacity, 1),
        "rate_rps": rate,
        "requests": sum(w["requests"] for w in windows),
        "errors": errors,
        "errors_by_status": dict(sorted(by_status.items())),
        "rss_mb": {"start": round(rss_start / 2**20, 1), "after_first_window": first,
                   "middle": middle, "end": last, "max": max(w["rss_mb"] for w in windows)},
        "rss_growth_pct": round(growth, 2),
        "rss_growth_from_first_window_pct": round(from_first, 2),
        "p99_ms": {"first": p99s[0], "last": p99s[-1], "max": max(p99s), "min": min(p99s)},
        "windows": windows,
        "ok": {"rss_growth": growth < RSS_GROWTH_LIMIT_PCT, "errors": errors == 0,
               "p99": max(p99s) <= P99_LIMIT_FACTOR * p99s[0]},
    }  # fmt: skip


def run_soak(
    plan: BenchPlan,
    soak: SoakPlan,
    *,
    database_url: str,
    redis_url: str | None,
    step: Step,
    workdir: Path,
) -> dict[str, Any]:
    """On a copy of the seeded data set (the mix writes), brisk as shipped, one process."""
    begun = time.time()
    env = {
        "BRISK_SECRET_KEY": secrets.token_urlsafe(48),
        "BRISK_CACHE__NAMESPACE": f"soak{os.getpid()}",
        LAB_SERVER_ENV: plan.server,
    }
    if redis_url:
        env["BRISK_REDIS_URL"] = redis_url
    source = seeded(plan, database_url, step)
    name = f"{source}_soak"
    copy = asyncio.run(databases.clone(database_url, source, name, indexes=True))
    try:
        with Server(AFTER.app, env | {"BRISK_DATABASE_URL": copy}, cpu=cpus()[1]) as server:
            step("workload: sampling the service")
            requests = build_requests(sample_service(server.url), seed=plan.seed)
            requests_file = workdir / "requests.tsv"
            write_requests(requests, requests_file)
            assert server.pid is not None
            report = soak_server(
                server.url, server.pid, requests_file, soak, step, plan.lock, database_url=copy
            )
    finally:
        if not plan.keep:
            asyncio.run(databases.drop(database_url, name))
    report["meta"] = _machine() | {
        "scale": plan.scale,
        "seed": plan.seed,
        "soak_seconds": soak.seconds,
        "window_seconds": soak.window_seconds,
        "fraction": soak.fraction,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(begun)),
        "duration_s": round(time.time() - begun, 1),
        "load_average_end": list(os.getloadavg()),
    }
    return report


def print_soak(report: dict[str, Any], console: Console) -> None:
    """Windows as a table, then the verdicts."""
    share = round(100 * report["meta"]["fraction"])
    table = Table(title=f"soak at {report['rate_rps']:g} req/s "
                  f"({share}% of {report['capacity_rps']:g} measured)")  # fmt: skip
    for column in ("window", "t (s)", "requests", "errors", "p50 ms", "p99 ms", "max ms", "RSS MB"):
        table.add_column(column, justify="right")
    for w in report["windows"]:
        table.add_row(
            *(str(w[k]) for k in ("window", "t_s", "requests")),
            f"{w['errors']} {_by_status(w['errors_by_status'])}".strip(),
            *(str(w[k]) for k in ("p50_ms", "p99_ms")),
            str(w["max_ms"]),
            str(w["rss_mb"]),
        )
    console.print(table)
    _print_facts(report["windows"], console)
    rss, ok = report["rss_mb"], report["ok"]
    console.print(
        f"RSS {rss['after_first_window']} MB after the first window, {rss['middle']} MB half-way,"
        f" {rss['end']} MB at the end: {report['rss_growth_pct']:+.2f}% over the second half "
        f"({'ok' if ok['rss_growth'] else 'OVER'} < {RSS_GROWTH_LIMIT_PCT:g}%; "
        f"{report['rss_growth_from_first_window_pct']:+.2f}% from the first window); "
        f"errors {report['errors']} {_by_status(report['errors_by_status'])}"
        f"({'ok' if ok['errors'] else 'NOT ZERO'}); P99 {report['p99_ms']['first']} ms first, "
        f"{report['p99_ms']['last']} ms last, {report['p99_ms']['max']} ms worst "
        f"({'ok' if ok['p99'] else 'OVER'} <= {P99_LIMIT_FACTOR:g}x the first window)"
    )
    if "capacity_after_rps" in report:
        console.print(
            f"capacity (closed model, 16 connections): {report['capacity_rps']:g} req/s at the "
            f"start, {report['capacity_after_rps']:g} at the end; the server's CPU "
            f"{report.get('capacity_server_us', '-')} us a request then (the windows': "
            "'server CPU us a request')"
        )


def _by_status(counts: dict[str, int]) -> str:
    """ "(503: 2, no answer: 1) " for the summary line; "" when nothing failed."""
    if not counts:
        return ""
    return "(" + ", ".join(f"{status}: {n}" for status, n in counts.items()) + ") "


FACTS = {
    "p99 ms": "p99_ms", "gc pauses > 50 ms": "gc_pauses_over_50ms", "gc ms": "gc_pause_ms",
    "full gcs": "gc2_pauses", "l1 misses": "l1_misses", "l2 misses": "l2_misses",
    "queries": "queries", "ms a query": "ms_per_query", "pool wait ms": "pool_wait_ms",
    "loop lag ms": "loop_lag_ms", "run queue ms": "runqueue_ms",
    "server CPU us a request": "server_us", "postgres CPU us a request": "postgres_us",
    "idle % by core": "idle_pct",
    "blocks read": "blocks_read",
    "checkpoints": "checkpoints", "autovacuums": "autovacuums", "dead rows": "dead_rows",
    "load 1m": "load_1m", "l1 MB": "l1_mb",
}  # fmt: skip


def _print_facts(windows: list[dict[str, Any]], console: Console) -> None:
    """Beside each window's P99: what the server and PostgreSQL did in it."""
    if not any(w.get("facts") for w in windows):
        return
    table = Table(title="what else happened, per window")
    table.add_column("window", justify="right")
    for column in FACTS:
        table.add_column(column, justify="right")
    for w in windows:
        facts = {**w.get("facts", {}), "p99_ms": w["p99_ms"]}
        if facts.get("queries"):  # the same work slower: PostgreSQL, not brisk, took longer
            facts["ms_per_query"] = round(facts.get("query_ms", 0) / facts["queries"], 2)
        seconds = w.get("seconds") or 0
        idle = [(k, v) for k, v in sorted(facts.items()) if k.startswith("idle_ms_cpu")]
        if idle and seconds:  # the server's core (1 of 2) idle 0% while core 0 is 50%: no slack
            facts["idle_pct"] = "/".join(f"{min(100, v / seconds / 10):.0f}" for _, v in idle)
        for side in ("server", "postgres"):  # whose CPU a request costs more of, over time
            if f"{side}_cpu_ms" in facts and w["requests"]:
                facts[f"{side}_us"] = round(1000 * facts[f"{side}_cpu_ms"] / w["requests"], 1)
        table.add_row(str(w["window"]), *(f"{facts.get(k, '-')}" for k in FACTS.values()))
    console.print(table)
    _print_slower(windows, console)


def _print_slower(windows: list[dict[str, Any]], console: Console) -> None:
    """Mean milliseconds per route and per query in the first window, the worst-P99 window and
    the last: which work became slower (or more of it), where a P99 grew."""
    worst = max(windows, key=lambda w: w["p99_ms"])
    picks = {"first": windows[0], f"worst P99 (window {worst['window']})": worst,
             "last": windows[-1]}  # fmt: skip
    for field, title in (("ms_by_route", "route"), ("ms_by_query", "query")):
        names = list(windows[0].get("facts", {}).get(field, {}))
        if not names:
            continue
        table = Table(title=f"mean ms by {title} (count in brackets)")
        table.add_column(title)
        for label in picks:
            table.add_column(label, justify="right")
        for name in names:
            cells = [w.get("facts", {}).get(field, {}).get(name) for w in picks.values()]
            table.add_row(name, *(f"{c[1]} ({c[0]})" if c else "-" for c in cells))
        console.print(table)
