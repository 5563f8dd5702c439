"""What the telemetry costs a cached read, counted without a server or a network (issue 16).

    BRISK_DATABASE_URL=<a migrated db> BRISK_REDIS_URL=... python scripts/telemetry_cpu.py \\
        [--callgrind] [--split] [--requests N] [--rounds R]

One process holds the app once per variant (telemetry off, on, on without the access line;
`--split` adds variants with single parts taken out), each warmed until the fast path answers
the cached anonymous article, profile and tags from L1; then each variant's app is called as
ASGI, N requests per path, with a fake scope, receive and send. An L1 hit never waits, so each
call is driven to its end synchronously (`coroutine.send(None)`): no event-loop iteration, no
timer, no background task runs inside the measured calls, and a call that would wait is an
error (not a hit). The database gets one user and one article if it has none.

Default: CPU time (`time.process_time`, user + system, so the access log's write(2) to a file
counts) of R alternating rounds; medians in microseconds per request.

`--callgrind`: the same calls under `valgrind --tool=callgrind`, counting instructions only
inside the measured batches (each batch runs inside one `functools.reduce`, the function
callgrind is told to collect in and dump after): the same figures on every run whatever the
machine's load. Instructions count user space only: the write(2) of the access lines is not
in them (the CPU mode has it).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from brisk.app import create_app
from brisk.observability.observers import CacheObserver
from brisk.settings import Settings

# name -> (telemetry settings, what is taken out after start-up)
VARIANTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "off": ({"enabled": False}, ()),
    "on": ({}, ()),
    "on, a line per request": ({"access_log_sample_every": 1}, ()),
    "on, no access line": ({"access_log": False}, ()),
}
SPLIT: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "on, no cache observer": ({}, ("cache observer",)),
    "on, no access line, no cache observer": ({"access_log": False}, ("cache observer",)),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(_message: dict[str, Any]) -> None:
    return None


def _caller(app: Any, path: str, send: Any = _discard) -> Callable[[], None]:
    """One anonymous GET of `path` as wrk sends it, driven to its end without a loop."""
    raw = path.encode()

    def call() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": raw,
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000")],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        coroutine = app(scope, _receive, send)
        try:
            coroutine.send(None)
        except StopIteration:
            return
        coroutine.close()
        raise RuntimeError(f"GET {path} waited: not answered from L1")

    return call


def batch(call: Callable[[], None], n: int) -> None:
    # The one functools.reduce of the process while measuring: callgrind collects inside it.
    functools.reduce(lambda _, __: call(), range(n), None)


async def _paths(app: Any) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api") as client:
        found = (await client.get("/articles?limit=1")).json()["articles"]
        if not found:
            user = {"username": "telemetry-cpu", "email": "t@example.org", "password": "x" * 12}
            token = (await client.post("/users", json={"user": user})).json()["user"]["token"]
            article = {"title": "Telemetry", "description": "d", "body": "b", "tagList": ["t"]}
            headers = {"Authorization": f"Token {token}"}
            await client.post("/articles", json={"article": article}, headers=headers)
            found = (await client.get("/articles?limit=1")).json()["articles"]
    slug, author = found[0]["slug"], found[0]["author"]["username"]
    return {"article": f"/api/articles/{slug}", "profile": f"/api/profiles/{author}",
            "tags": "/api/tags"}  # fmt: skip


async def _start(name: str, telemetry: dict[str, Any], out: tuple[str, ...]) -> Any:
    settings = Settings(
        database_url=os.environ["BRISK_DATABASE_URL"],
        redis_url=os.environ["BRISK_REDIS_URL"],
        secret_key="bench-secret-" + "x" * 40,  # type: ignore[arg-type]
        # Nothing may expire while callgrind runs (50x slower than the CPU).
        cache={"namespace": f"telemetry-cpu-{os.getpid()}", "l1_ttl_seconds": 3600},  # type: ignore[arg-type]
        telemetry=telemetry,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    manager = LifespanManager(app, startup_timeout=300, shutdown_timeout=300)  # valgrind
    await manager.__aenter__()
    # The eviction subscription's heartbeat cannot keep time under valgrind (it would drop L1),
    # and the measured calls never let it run: it is stopped.
    bus = app.state.services.cache._bus
    if bus is not None:
        await bus.stop()
    if "cache observer" in out:
        observers = app.state.services.cache.observers
        observers[:] = [o for o in observers if not isinstance(o, CacheObserver)]
    return manager


async def _apps(names: list[str]) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    every = {**VARIANTS, **SPLIT}
    managers = [await _start(name, *every[name]) for name in names]
    apps = {name: m.app for name, m in zip(names, managers, strict=True)}
    paths = await _paths(apps[names[0]])
    for name, app in apps.items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in paths.values():
                for _ in range(3):
                    response = await client.get(path)
                    assert response.status_code == 200, (name, path, response.status_code)
        for path in paths.values():
            statuses: list[int] = []

            async def record(message: dict[str, Any], statuses: list[int] = statuses) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            _caller(app, path, record)()  # answered from L1, or an error
            assert statuses == [200], (name, path, statuses)
            call = _caller(app, path)
            for _ in range(500):  # histogram children, remembered ETags, route labels
                call()
    return apps, paths, managers


async def measure(names: list[str], n: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    apps, paths, managers = await _apps(names)
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for _ in range(rounds):
            for name, app in apps.items():
                for kind, path in paths.items():
                    call = _caller(app, path)
                    started = time.process_time()
                    batch(call, n)
                    spent = time.process_time() - started
                    times.setdefault((name, kind), []).append(spent / n * 1e6)
    finally:
        for manager in managers:
            await manager.__aexit__(None, None, None)
    return times


def _report(cost: dict[tuple[str, str], float], unit: str) -> None:
    kinds = list(dict.fromkeys(kind for _, kind in cost))
    names = list(dict.fromkeys(name for name, _ in cost))
    print(f"{'variant':40} " + " ".join(f"{k:>20}" for k in kinds))
    for name in names:
        cells = []
        for kind in kinds:
            value, off = cost[(name, kind)], cost[("off", kind)]
            digits = 1 if unit == "us" else 0
            cells.append(f"{value:9.{digits}f} ({value - off:+7.{digits}f})")
        print(f"{name:40} " + " ".join(f"{c:>20}" for c in cells))
    print(f"({unit} per request; in brackets: against off)")


def _callgrind(names: list[str], n: int) -> dict[tuple[str, str], float]:
    folder = Path(tempfile.mkdtemp(prefix="brisk-callgrind-"))
    out = folder / "callgrind.out"
    command = [
        "valgrind", "--tool=callgrind", "--collect-atstart=no",
        "--toggle-collect=functools_reduce", "--dump-after=functools_reduce",
        "--compress-strings=no", "--compress-pos=no",
        f"--callgrind-out-file={out}", sys.executable, __file__, "--child",
        "--requests", str(n), "--variants", "|".join(names),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    child = subprocess.run(command, env=env, capture_output=True, text=True)
    if child.returncode:
        sys.exit(f"{child.stderr[-3000:]}\nvalgrind: exit status {child.returncode}")
    order = [tuple(line.split("\t")[1:]) for line in child.stdout.splitlines()
             if line.startswith("batch\t")]  # fmt: skip
    totals = []
    for dump in sorted(folder.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:])):
        for line in dump.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                totals.append(int(line.split()[1]))
                break
    # Any reduce before the measured ones (imports) dumped too: the batches are the last ones.
    measured = totals[-len(order) :]
    print(f"callgrind files: {folder}")
    return {(name, kind): total / n for (name, kind), total in zip(order, measured, strict=True)}


async def _child(names: list[str], n: int) -> None:
    apps, paths, managers = await _apps(names)
    try:
        for name, app in apps.items():
            for kind, path in paths.items():
                print(f"batch\t{name}\t{kind}", flush=True)
                batch(_caller(app, path), n)
    finally:
        for manager in managers:
            await manager.__aexit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--split", action="store_true", help="also the variants without a part")
    parser.add_argument("--requests", type=int, default=0, help="per path and variant")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variants", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    names = (
        opts.variants.split("|") if opts.variants else [*VARIANTS, *(SPLIT if opts.split else ())]
    )
    # The access lines go to a file, as in production (a write per PIPE_BUF of lines).
    log, log_name = tempfile.mkstemp(prefix="brisk-access-", suffix=".log")
    sys.stderr = os.fdopen(os.dup(2), "w")  # tracebacks still reach the terminal
    os.dup2(log, 2)
    if opts.child:
        asyncio.run(_child(names, opts.requests))
    elif opts.callgrind:
        _report(_callgrind(names, opts.requests or 2000), "instructions")
    else:
        times = asyncio.run(measure(names, opts.requests or 5000, opts.rounds))
        _report({key: statistics.median(v) for key, v in times.items()}, "us")
        print(f"{opts.rounds} rounds, medians; access lines: {log_name}")


if __name__ == "__main__":
    main()
