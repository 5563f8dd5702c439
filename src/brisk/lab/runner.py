"""Drive a load for a duration and return latency, throughput and errors; start the servers.

`drive()` is the reusable entry point (the bench uses it, and a soak can): closed model through
wrk at a fixed number of connections, or open model at a fixed arrival rate through
brisk.lab.openloop, which counts latency from each request's due time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

from brisk.lab import kinds as per_kind
from brisk.lab.wrk import run_wrk

# Quantiles kept for the latency CDF plot (fractions of requests answered within a time).
CDF_POINTS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CDF_POINTS += (0.95, 0.98, 0.99, 0.995, 0.999, 1.0)


@dataclass
class LoadResult:
    """What one load run measured; times in milliseconds."""

    model: str  # "closed" (fixed connections) or "open" (fixed arrival rate)
    requests: int
    errors: int  # failed connections/reads, timeouts and 5xx/4xx answers
    seconds: float
    throughput_rps: float
    avg_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    connections: int = 0
    rate: float = 0.0
    cdf: list[tuple[float, float]] = field(default_factory=list)  # (fraction, ms)
    # The open model's breakdown (brisk.lab.kinds); wrk reports none of these.
    kinds: dict[str, dict[str, object]] = field(default_factory=dict)
    timeline: list[dict[str, object]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def closed_load(
    url: str,
    requests_file: Path,
    *,
    connections: int,
    seconds: float,
    cpu: int | None = None,
    timeout_seconds: float = 10.0,
) -> LoadResult:
    figures = run_wrk(
        url,
        requests_file,
        connections=connections,
        seconds=seconds,
        cpu=cpu,
        timeout_seconds=timeout_seconds,
    )
    p: dict[str, float] = figures["percentiles_us"]  # type: ignore[assignment]
    duration = float(figures["duration_us"]) / 1e6  # type: ignore[arg-type]
    count = int(figures["requests"])  # type: ignore[call-overload]
    errors = sum(int(figures[k]) for k in ("connect", "read", "write", "status", "timeout"))  # type: ignore[call-overload]
    return LoadResult(
        model="closed",
        requests=count,
        errors=errors,
        seconds=duration,
        throughput_rps=count / duration if duration else 0.0,
        avg_ms=float(figures["mean_us"]) / 1e3,  # type: ignore[arg-type]
        p50_ms=p["50"] / 1e3,
        p95_ms=p["95"] / 1e3,
        p99_ms=p["99"] / 1e3,
        p999_ms=p["99.9"] / 1e3,
        max_ms=float(figures["max_us"]) / 1e3,  # type: ignore[arg-type]
        connections=connections,
        cdf=[
            (q, p[key] / 1e3)
            for q, key in (
                (0.5, "50"),
                (0.75, "75"),
                (0.9, "90"),
                (0.95, "95"),
                (0.99, "99"),
                (0.999, "99.9"),
            )
        ],
    )


def open_load(
    url: str,
    requests_file: Path,
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    cpu: int | None = None,
) -> LoadResult:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    command = [sys.executable, "-m", "brisk.lab.openloop", host, port, f"{rate:g}"]
    command += [f"{seconds:g}", str(connections), str(requests_file)]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    done = subprocess.run(  # noqa: S603 - our own arguments
        command, capture_output=True, text=True, timeout=seconds + 90, check=False
    )
    if done.returncode:
        raise RuntimeError(f"open-model generator failed: {done.stderr.strip()[-2000:]}")
    figures = json.loads(done.stdout)
    latencies = sorted(float(x) * 1e3 for x in figures["latencies"])
    statuses: dict[str, int] = figures["statuses"]
    bad = sum(n for status, n in statuses.items() if status not in ("2xx", "3xx"))
    duration = float(figures["seconds"])
    records = figures["records"]
    return LoadResult(
        model="open",
        requests=len(latencies),
        errors=int(figures["errors"]) + bad,
        seconds=duration,
        throughput_rps=len(latencies) / duration if duration else 0.0,
        avg_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        p50_ms=per_kind.quantile(latencies, 0.5),
        p95_ms=per_kind.quantile(latencies, 0.95),
        p99_ms=per_kind.quantile(latencies, 0.99),
        p999_ms=per_kind.quantile(latencies, 0.999),
        max_ms=latencies[-1] if latencies else 0.0,
        connections=connections,
        rate=rate,
        cdf=[(q, per_kind.quantile(latencies, q)) for q in CDF_POINTS],
        kinds=per_kind.by_kind(records, duration),
        timeline=per_kind.timeline(records, duration),
        statuses=per_kind.statuses(records),
    )


def drive(
    url: str,
    requests_file: Path,
    seconds: float,
    *,
    connections: int = 64,
    rate: float | None = None,
    cpu: int | None = None,
    timeout_seconds: float = 10.0,
) -> LoadResult:
    """Load `url` with the request file for `seconds`: at a fixed arrival `rate` (open model)
    when given, else with `connections` busy connections (closed model; a request unanswered
    after `timeout_seconds` counts as an error)."""
    if rate is not None:
        return open_load(
            url, requests_file, rate=rate, seconds=seconds, connections=connections, cpu=cpu
        )
    return closed_load(
        url,
        requests_file,
        connections=connections,
        seconds=seconds,
        cpu=cpu,
        timeout_seconds=timeout_seconds,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpus() -> tuple[int | None, int | None]:
    """(generator core, server core): apart when there are two or more cores, else unpinned."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return 0, 1
    return None, None


# The HTTP server the lab runs each app on, the same for every profile so that they compare:
# granian by default, as `brisk serve` ships (ADR 0003); uvicorn to compare with earlier reports.
LAB_SERVER_ENV = "BRISK_LAB_SERVER"
DEFAULT_LAB_SERVER = "granian"


class Server:
    """One server (an app factory on granian with one worker or on uvicorn, or a plain
    module), pinned to a core, stopped by its pid (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        *,
        cpu: int | None = None,
        module: bool = False,
        ready_path: str = "/health/live",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        http_server = "" if module else env.get(LAB_SERVER_ENV, DEFAULT_LAB_SERVER)
        if module:
            command = [sys.executable, "-m", target, str(self.port)]
        elif http_server == "granian":
            command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory"]
            command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
            command += ["--loop", "uvloop", "--http", "1", "--no-ws", "--no-access-log"]
            command += ["--log-level", "warning", target]
        elif http_server == "uvicorn":
            command = [sys.executable, "-m", "uvicorn", "--factory", target]
            command += ["--port", str(self.port), "--loop", "uvloop", "--http", "httptools"]
            command += ["--no-access-log", "--log-level", "warning"]
        else:
            raise ValueError(f"{LAB_SERVER_ENV}={http_server!r}: granian or uvicorn")
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        # No load balancer drains the lab's servers: SIGTERM stops them at once.
        environment = {**os.environ, "BRISK_HTTP__DRAIN_SECONDS": "0", **env}
        self._command, self._env, self._ready = command, environment, ready_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> Server:
        # A file, not a pipe: a server logging errors under load must never block on a full pipe.
        self._process = subprocess.Popen(  # noqa: S603 - our own arguments
            self._command, env=self._env, stdout=subprocess.DEVNULL, stderr=self._log
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited: {self._stderr()}")
            try:
                with urllib.request.urlopen(self.url + self._ready, timeout=2):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not become ready: {self._stderr()}")

    def _stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _pids(self) -> list[int]:
        """The server's process and its children (granian's worker; none under uvicorn)."""
        if self._process is None:
            return []
        pid = self._process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [pid, *(int(child) for child in children.read_text().split())]
        except OSError:
            return [pid]

    @property
    def pid(self) -> int | None:
        """The process that serves the app: granian's one worker, or uvicorn's process."""
        pids = self._pids()
        return pids[-1] if pids else None

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes so far (Linux; 0 elsewhere)."""
        total = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        process = self._process
        self._process = None
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        finally:
            self._log.close()
