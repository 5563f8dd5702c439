"""wrk (closed model: fixed connections, each sends its next request when answered) with a Lua
script that replays the lab's request file and reports its figures as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

# Lua for wrk 4: each thread reads the request file, starts at its own offset and cycles;
# done() prints one JSON line between markers (wrk's text output is for people).
SCRIPT = r"""
local requests = {}
local index = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 997)
end

function init(args)
  local path = args[1]
  for line in io.lines(path) do
    local field = "([^\t]*)\t"
    local kind, method, target, token, etag, body = line:match("^" .. field:rep(5) .. "(.*)$")
    local headers = {}
    if token ~= "" then headers["Authorization"] = "Token " .. token end
    if etag ~= "" then headers["If-None-Match"] = etag end
    if body == "" then body = nil else headers["Content-Type"] = "application/json" end
    requests[#requests + 1] = wrk.format(method, target, headers, body)
  end
  index = (offset or 0) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({50, 75, 90, 95, 99, 99.9}) do
    p[#p + 1] = string.format('"%s": %d', tostring(q), latency:percentile(q))
  end
  io.write(string.format(
    'BRISK-JSON {"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "mean_us": %f, "max_us": %d, '
    .. '"percentiles_us": {%s}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency.max, table.concat(p, ", ")))
end
"""


class WrkMissingError(RuntimeError):
    """wrk is not installed."""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise WrkMissingError(
            "wrk is not installed: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)"
        )
    return found


def run_wrk(
    url: str,
    requests_file: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    cpu: int | None = None,
    timeout_seconds: float = 10.0,
) -> dict[str, object]:
    """Drive `url` (scheme://host:port) with the requests in `requests_file`; wrk's figures."""
    script = requests_file.with_suffix(".lua")
    script.write_text(SCRIPT)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_seconds:g}s",
        "-s",
        str(script),
        url,
        "--",
        str(requests_file),
    ]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    done = subprocess.run(  # noqa: S603 - our own arguments
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BRISK-JSON "):
            return dict(json.loads(line.removeprefix("BRISK-JSON ")))
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
