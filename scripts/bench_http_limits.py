"""What the header/read-time bounds cost on the fast path: uvicorn's plain httptools protocol
against brisk's LimitedHttpToolsProtocol, same app, same cached anonymous GET, interleaved runs.

    BRISK_DATABASE_URL=postgresql://... BRISK_REDIS_URL=redis://... \
        .venv/bin/python scripts/bench_http_limits.py [--rounds 2] [--seconds 8]

The database must be migrated. Prints req/s and wrk's P50/P99 per run, and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

SERVER = """
import sys, uvicorn
from brisk.cli.http_server import limited_protocol
from brisk.settings import HttpSettings
http = "httptools" if sys.argv[2] == "plain" else limited_protocol(HttpSettings())
uvicorn.run("brisk.asgi:create_from_env", factory=True, port=int(sys.argv[1]), loop="uvloop",
            http=http, access_log=False, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(mode: str, seconds: int, env: dict[str, str]) -> tuple[float, str, str]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), mode], env=env)
    url = f"http://127.0.0.1:{port}/api/tags"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(50):  # warm L1
            urllib.request.urlopen(url, timeout=1).read()
        out = subprocess.run(
            ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    env = {
        **os.environ,
        "BRISK_SECRET_KEY": secrets.token_urlsafe(48),
        "BRISK_CACHE__NAMESPACE": f"httpbench{os.getpid()}",
        "BRISK_TELEMETRY__ACCESS_LOG": "false",
    }
    print(f"load average before: {os.getloadavg()}")
    for round_ in range(args.rounds):
        for mode in ("plain", "limited"):
            rate, p50, p99 = _run(mode, args.seconds, env)
            print(f"round {round_ + 1} {mode:8s} {rate:9.1f} req/s  p50 {p50:>8s}  p99 {p99:>8s}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
