"""Where a cached read's CPU goes, split into server, middleware, telemetry and the lookup
itself (issue 16): `perf` for the process's threads and `py-spy` for the Python in the event
loop's thread, both during one wrk run.

    BRISK_DATABASE_URL=... BRISK_REDIS_URL=... python scripts/profile_fastpath.py \\
        [--server granian] [--path /api/articles/SLUG] [--seconds 6] [--py-spy PATH]

Starts `brisk serve --server S` pinned to core 1, warms the path, runs `wrk -t1 -c64` pinned
to core 0, then `perf record` on the worker for `--seconds` and `py-spy record --native` for as
long again, in the same wrk run. perf gives each thread's share of the worker's CPU; the event
loop's thread is split by py-spy's samples, each given to the innermost frame that names a
category (a native frame of granian's or uvloop's library is the server's). Needs root (or
perf_event_paranoid <= 1) and py-spy (`pip install py-spy`).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import _port

BIN = os.path.dirname(sys.executable)
# Innermost match wins; checked against py-spy's "function (file:line)" frames.
CATEGORIES = (
    ("server", ("granian/", "_granian", "uvicorn/", "httptools", "uvloop", "loop.c",
                "brisk/http_limits.py", "asyncio/", "_asynciomodule")),
    ("telemetry", ("brisk/observability/",)),
    ("lookup", ("brisk/api/fastpath.py", "brisk/api/cached_reads.py", "brisk/api/http_cache.py",
                "brisk/api/authorization.py", "brisk/cache/", "_blake2", "/service.py",
                "/router.py")),
    ("middleware", ("starlette/", "fastapi/", "brisk/api/")),
)  # fmt: skip


# py-spy --native counts a thread blocked in these as active; it is waiting.
IDLE = ("epoll_wait", "epoll_pwait", "poll (", "select (", "pthread_cond_wait", "sem_wait")


def classify(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        for category, marks in CATEGORIES:
            if any(mark in frame for mark in marks):
                return category
    return "server"  # the loop's own frames (run_forever, selectors) and nothing else


def _worker_pid(parent: int) -> int:
    """granian's worker is the serve process's child; uvicorn with one worker has none."""
    children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
    pids = [int(p) for p in children.stdout.split()]
    return pids[0] if pids else parent


def _perf_threads(data: Path, main_tid: int) -> tuple[float, float]:
    """(share of the event loop's thread, share of every other thread) of the worker's CPU."""
    out = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "pid", "--stdio",
         "-g", "none"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    main = other = 0.0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%") and ":" in parts[1]:
            share = float(parts[0].rstrip("%"))
            if int(parts[1].split(":")[0]) == main_tid:
                main += share
            else:
                other += share
    return main, other


def _spy_split(raw: Path) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any(".py:" in frame for frame in frames):
            continue  # a thread with no Python (granian's tokio threads): perf counts those
        if frames[-1].startswith(IDLE):
            continue  # the loop waiting for work: no CPU (perf does not count it either)
        counts[classify(frames)] += int(count)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="granian")
    parser.add_argument("--path", default="/api/tags")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or f"{BIN}/py-spy")
    opts = parser.parse_args()
    env = {**os.environ, "BRISK_CACHE__NAMESPACE": f"profile-{os.getpid()}",
           "BRISK_HTTP__DRAIN_SECONDS": "0"}  # fmt: skip
    env.setdefault("BRISK_SECRET_KEY", "bench-secret-" + "x" * 40)
    folder = Path(tempfile.mkdtemp(prefix="brisk-profile-"))
    port = _port()
    with (folder / "serve.log").open("wb") as log:
        serve = subprocess.Popen(
            ["taskset", "-c", "1", f"{BIN}/brisk", "serve", "--server", opts.server,
             "--port", str(port)], env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}{opts.path}"
        for _ in range(200):
            try:
                if httpx.get(url).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        worker = _worker_pid(serve.pid)
        load = subprocess.Popen(
            ["taskset", "-c", "0", "wrk", "-t1", "-c64", f"-d{2 * opts.seconds + 4}s", url],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2)
        perf_data, spy_raw = folder / "perf.data", folder / "py-spy.txt"
        subprocess.run(["perf", "record", "-F", "499", "-g", "-p", str(worker), "-o",
                        str(perf_data), "--", "sleep", str(opts.seconds)],
                       capture_output=True, check=True)  # fmt: skip
        subprocess.run([opts.py_spy, "record", "-p", str(worker), "-d", str(opts.seconds),
                        "-r", "200", "--native", "-f", "raw", "-o", str(spy_raw)],
                       capture_output=True, check=True)  # fmt: skip
        wrk_out, _ = load.communicate(timeout=60)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    main_share, other_share = _perf_threads(perf_data, worker)
    counts = _spy_split(spy_raw)
    samples = sum(counts.values())
    total = main_share + other_share
    print(f"{opts.server}, {opts.path}; load average {os.getloadavg()}")
    print(next(line for line in wrk_out.splitlines() if "Requests/sec" in line))
    print(f"perf: event-loop thread {main_share / total:.0%} of the worker's CPU, "
          f"other threads {other_share / total:.0%}; py-spy: {samples} samples")  # fmt: skip
    split = {name: main_share / total * counts[name] / samples for name, _ in CATEGORIES}
    split["server"] += other_share / total
    for name, share in split.items():
        print(f"| {name} | {share:.0%} |")
    print(f"files: {folder}")


if __name__ == "__main__":
    main()
