"""`brisk bench`: the before/after table of the article, measured on this machine.

Seeds (once) and copies a data set on the configured PostgreSQL, measures the load generators'
own ceiling, then drives the workload mix against each profile: closed model (fixed
connections, wrk) for throughput, open model (fixed arrival rate) for latency without
coordinated omission, several repetitions, medians with their spread; then checks the
article's four claims. `--url` measures one running service instead.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import platform
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brisk.lab import claims, databases
from brisk.lab.profiles import AFTER, ALL, QUICK, Profile
from brisk.lab.runner import DEFAULT_LAB_SERVER, LAB_SERVER_ENV, LoadResult, Server, cpus, drive
from brisk.lab.workload import Request, build_requests, only, sample_service, write_requests

Step = Callable[[str], None]
# The figures of the article the lab reproduces (its own table).
ARTICLE = {
    "before": {"avg_ms": 800.0, "p95_ms": 2000.0, "throughput_rps": 500.0},
    "after": {"avg_ms": 300.0, "p95_ms": 500.0, "throughput_rps": 2000.0},
}
# The generators must reach this multiple of the fastest service's rate to not be its limit.
HEADROOM = 3.0


@dataclass
class BenchPlan:
    """How long and how hard to measure."""

    scale: str = "S"
    seed: int = 42
    seconds: float = 8.0
    warmup_seconds: float = 3.0
    repetitions: int = 3
    connections: int = 16
    open_seconds: float = 8.0
    open_fraction: float = 0.5  # arrival rate as a share of the profile's closed throughput
    profiles: tuple[Profile, ...] = ALL
    claim_seconds: float = 5.0
    max_seconds: float = 40.0  # the longest a slow profile's run may take
    keep: bool = False
    # Prefix of the databases the bench creates (tests use their own).
    database_prefix: str = "brisk_lab"
    # A file to flock around each measurement, so that on a shared machine measurements
    # never overlap while the holds stay short (one profile or one claim each).
    lock: Path | None = None
    # The HTTP server every profile runs on (runner.LAB_SERVER_ENV).
    server: str = DEFAULT_LAB_SERVER
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> BenchPlan:
        return cls(
            scale="XS",
            seconds=3.0,
            warmup_seconds=1.5,
            max_seconds=10.0,
            repetitions=2,
            open_seconds=3.0,
            profiles=QUICK,
            claim_seconds=2.0,
        )


def _median_spread(runs: list[LoadResult]) -> tuple[dict[str, float], dict[str, list[float]]]:
    keys = ("throughput_rps", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
    median = {k: statistics.median(getattr(r, k) for r in runs) for k in keys}
    median["errors"] = sum(r.errors for r in runs)
    spread = {k: [min(getattr(r, k) for r in runs), max(getattr(r, k) for r in runs)] for k in keys}
    return median, spread


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def measure(
    url: str, requests_file: Path, plan: BenchPlan, *, server: Server | None, step: Step
) -> dict[str, Any]:
    """Warm up, then `repetitions` closed runs and one open run at a share of their rate.

    A slow profile gets longer runs (up to `max_seconds`): each connection must complete a
    few requests, or the slow ones would still be in flight when the run ends and the
    figures would only hold the fast ones."""
    generator = cpus()[0]
    warm = drive(
        url,
        requests_file,
        plan.warmup_seconds,
        connections=plan.connections,
        cpu=generator,
        timeout_seconds=plan.max_seconds,
    )
    seconds = _clamp(
        3 * plan.connections / max(warm.throughput_rps, 1e-3), plan.seconds, plan.max_seconds
    )
    cpu_before = server.cpu_seconds() if server else 0.0
    runs = []
    for i in range(plan.repetitions):
        step(f"run {i + 1}/{plan.repetitions} ({seconds:.0f} s)")
        runs.append(
            drive(
                url,
                requests_file,
                seconds,
                connections=plan.connections,
                cpu=generator,
                timeout_seconds=plan.max_seconds,
            )
        )
    cpu_used = (server.cpu_seconds() - cpu_before) if server else 0.0
    median, spread = _median_spread(runs)
    rate = max(0.05, round(median["throughput_rps"] * plan.open_fraction, 2))
    # At least ~30 requests at that rate, within the same bound.
    open_seconds = _clamp(30 / rate, plan.open_seconds, plan.max_seconds)
    step(f"open model at {rate:g} req/s ({open_seconds:.0f} s)")
    opened = drive(url, requests_file, open_seconds, rate=rate, cpu=generator)
    completed = sum(r.requests for r in runs)
    return {
        "closed": median,
        "spread": spread,
        "runs": [r.to_dict() for r in runs],
        "open": opened.to_dict(),
        # Per kind of request, from the open run (the generator that sees each answer).
        "kinds": opened.kinds,
        "app_cpu_ms_per_request": 1e3 * cpu_used / completed if completed and server else None,
        "requests": warm.requests + completed + opened.requests,
        "run_seconds": seconds,
    }


def _profile(
    profile: Profile,
    urls: dict[str, str],
    env: dict[str, str],
    requests_file: Path,
    plan: BenchPlan,
    step: Step,
) -> dict[str, Any]:
    db_url = urls[profile.database]
    calls_before = asyncio.run(databases.transactions(db_url))
    profile_env = env | {"BRISK_DATABASE_URL": db_url} | profile.env
    with Server(profile.app, profile_env, cpu=cpus()[1]) as server:
        result = measure(server.url, requests_file, plan, server=server, step=step)
    # After the server stopped: its backends flushed their statistics as they exited. Requests
    # still in flight when a run ended count in the database but not here: a slight excess.
    time.sleep(0.5)
    calls = asyncio.run(databases.transactions(db_url)) - calls_before - 1
    result["db_calls_per_request"] = calls / result["requests"] if result["requests"] else None
    result["label"], result["technique"], result["change"] = (
        profile.label,
        profile.technique,
        profile.change,
    )
    return result


def generator_ceiling(step: Step) -> dict[str, Any]:
    """Rates the generators reach against a trivial server on the service's core."""
    gen_cpu, app_cpu = cpus()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trivial.tsv"
        write_requests([Request("trivial", "GET", "/")], path)
        with Server("brisk.lab.trivial", {}, cpu=app_cpu, module=True, ready_path="/") as server:
            step("generator ceiling (wrk)")
            closed = drive(server.url, path, 3, connections=64, cpu=gen_cpu)
            step("generator ceiling (open model)")
            opened = drive(server.url, path, 2, rate=12_000, connections=64, cpu=gen_cpu)
    return {
        "wrk_rps": closed.throughput_rps,
        "open_model_rps": opened.throughput_rps,
        "open_model_rate": 12_000.0,
        "open_model_p99_ms": opened.p99_ms,
    }


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
        "load_average": list(os.getloadavg()),
    }


def _summary(profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("before", "after"):
        closed = profiles[name]["closed"]
        out[name] = {
            "avg_ms": closed["avg_ms"],
            "p95_ms": closed["p95_ms"],
            "throughput_rps": closed["throughput_rps"],
            "open_p95_ms": profiles[name]["open"]["p95_ms"],
        }
    before, after = out["before"], out["after"]
    out["ratios"] = {
        "throughput": after["throughput_rps"] / max(before["throughput_rps"], 1e-9),
        "p95": before["p95_ms"] / max(after["p95_ms"], 1e-9),
        "avg": before["avg_ms"] / max(after["avg_ms"], 1e-9),
    }
    return out


def _techniques(profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per technique: throughput gained added to before, and lost removed from after."""
    out: dict[str, Any] = {}
    before = profiles["before"]["closed"]["throughput_rps"]
    after = profiles["after"]["closed"]["throughput_rps"]
    for name, result in profiles.items():
        technique = result.get("technique")
        if not technique:
            continue
        rps = result["closed"]["throughput_rps"]
        entry = out.setdefault(technique, {})
        if result["change"] == "+":
            entry["alone_on_before_x"] = rps / max(before, 1e-9)
            entry["before_with_rps"] = rps
        else:
            entry["missing_from_after_x"] = after / max(rps, 1e-9)
            entry["after_without_rps"] = rps
        entry.setdefault("profiles", []).append(name)
    return out


@contextmanager
def held(lock: Path | None) -> Iterator[None]:
    """Hold `lock` (flock, exclusive) for the block; nothing when there is none."""
    if lock is None:
        yield
        return
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prefixed(step: Step, prefix: str) -> Step:
    return lambda text: step(f"{prefix}: {text}")


def seeded(plan: BenchPlan, database_url: str, step: Step) -> str:
    """The name of the plan's seeded data set on this server (seeded now if it is not yet)."""
    step(f"data set {plan.scale} (seed {plan.seed})")
    dataset = asyncio.run(
        databases.ensure_dataset(
            database_url,
            plan.scale,
            plan.seed,
            lambda table, done, total: step(f"seeding {table} {done:,}/{total:,}"),
            prefix=plan.database_prefix,
        )
    )
    return dataset.rsplit("/", 1)[1]


def run_bench(
    plan: BenchPlan, *, database_url: str, redis_url: str | None, step: Step, workdir: Path
) -> dict[str, Any]:
    """The whole bench on the given PostgreSQL (and Redis); returns the report's data."""
    started, load_at_start = time.time(), list(os.getloadavg())
    secret = secrets.token_urlsafe(48)
    env = {
        "BRISK_SECRET_KEY": secret,
        "BRISK_CACHE__NAMESPACE": f"lab{os.getpid()}",
        # The per-kind costs (queries, cache hits per request) come from Server-Timing.
        "BRISK_TELEMETRY__SERVER_TIMING": "all",
        LAB_SERVER_ENV: plan.server,
    }
    if redis_url:
        env["BRISK_REDIS_URL"] = redis_url
    source = seeded(plan, database_url, step)
    names = {"shipped": f"{source}_run_shipped", "bare": f"{source}_run_bare"}
    step("copies: as shipped, and without secondary indexes")
    urls = {
        kind: asyncio.run(databases.clone(database_url, source, name, indexes=kind == "shipped"))
        for kind, name in names.items()
    }
    try:
        with held(plan.lock):
            ceiling = generator_ceiling(step)
        step("workload: sampling the service")
        with Server(AFTER.app, env | {"BRISK_DATABASE_URL": urls["shipped"]}) as server:
            sample = sample_service(server.url)
        requests = build_requests(sample, seed=plan.seed)
        requests_file = workdir / "requests.tsv"
        write_requests(requests, requests_file)
        profiles: dict[str, dict[str, Any]] = {}
        for profile in plan.profiles:
            step(f"profile {profile.name}")
            sub = _prefixed(step, profile.name)
            with held(plan.lock):
                profiles[profile.name] = _profile(profile, urls, env, requests_file, plan, sub)
        step("claim: query time with and without indexes")
        with held(plan.lock):
            indexes = asyncio.run(claims.query_times(urls["shipped"], urls["bare"]))
        report_claims: dict[str, Any] = {"indexes": indexes, "cache": claims.cache_calls(profiles)}
        step("claim: parallel reads")
        dashboard = only(requests, "dashboard")
        with held(plan.lock):
            report_claims["parallel"] = claims.parallel_reads(
                urls["shipped"], env, dashboard, workdir, seconds=plan.claim_seconds, cpus=cpus()
            )
        step("claim: pooling")
        with held(plan.lock):
            report_claims["pooling"] = claims.pooling(
                urls["shipped"],
                env,
                requests_file,
                pool=2,
                seconds=plan.claim_seconds,
                cpus=cpus(),
            )
    finally:
        if not plan.keep:
            for name in names.values():
                asyncio.run(databases.drop(database_url, name))
    fastest = max(p["closed"]["throughput_rps"] for p in profiles.values())
    ceiling["service_max_rps"] = fastest
    ceiling["headroom_x"] = ceiling["wrk_rps"] / max(fastest, 1e-9)
    ceiling["ok"] = ceiling["headroom_x"] >= HEADROOM
    return {
        **_summary(profiles),
        "article": ARTICLE,
        "techniques": _techniques(profiles),
        "claims": report_claims,
        "profiles": profiles,
        "generator": ceiling,
        "meta": _machine()
        | {
            "scale": plan.scale,
            "seed": plan.seed,
            "server": plan.server,
            "seconds": plan.seconds,
            "repetitions": plan.repetitions,
            "connections": plan.connections,
            "open_fraction": plan.open_fraction,
            "requests_in_mix": len(requests),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": time.time() - started,
            "load_average": load_at_start,
            "load_average_end": list(os.getloadavg()),
        },
    }


def run_against_url(url: str, plan: BenchPlan, *, step: Step, workdir: Path) -> dict[str, Any]:
    """Measure one running service (seeded by `brisk seed`): the mix, no profiles, no claims."""
    started = time.time()
    ceiling = generator_ceiling(step)
    step("workload: sampling the service")
    requests = build_requests(sample_service(url.rstrip("/")), seed=plan.seed)
    requests_file = workdir / "requests.tsv"
    write_requests(requests, requests_file)
    step("measuring")
    result = measure(url.rstrip("/"), requests_file, plan, server=None, step=step)
    ceiling["service_max_rps"] = result["closed"]["throughput_rps"]
    ceiling["headroom_x"] = ceiling["wrk_rps"] / max(ceiling["service_max_rps"], 1e-9)
    ceiling["ok"] = ceiling["headroom_x"] >= HEADROOM
    return {
        "service": {"url": url, **result},
        "generator": ceiling,
        "meta": _machine()
        | {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": time.time() - started,
        },
    }
