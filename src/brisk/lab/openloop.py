"""An open-model load generator: requests leave on a fixed schedule, whatever the answers do.

`python -m brisk.lab.openloop HOST PORT RATE SECONDS CONNECTIONS REQUESTS_FILE` prints JSON.
Request i is due at start + i / RATE. Its latency is counted from when it was *due*, not from
when a connection was free to send it, so a stall shows up in every request that queued
behind it (no coordinated omission: the correction wrk2 makes). Connections are keep-alive;
when all are busy, due requests wait in a queue and that wait is part of their latency.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import deque
from dataclasses import dataclass

from brisk.lab.workload import Request, read_requests

# A request still unanswered this long after the run's end counts as an error (a timeout).
GRACE_SECONDS = 5.0


# What brisk's Server-Timing header says of one request (the naive app sends none: -1).
_DB_QUERIES = re.compile(rb'db;dur=[\d.]+;desc="(\d+) queries"')
_CACHE = re.compile(rb'cache;dur=[\d.]+;desc="\d+ calls, (\d+) hits, (\d+) misses"')


@dataclass
class _Tally:
    latencies: list[float]
    statuses: dict[str, int]
    # One per answered request: [kind, latency s, status, answered at (s from start),
    # DB queries, cache hits, cache misses] (the last three -1 without Server-Timing).
    records: list[list[object]]
    errors: int = 0
    sent: int = 0
    start: float = 0.0


def server_timing(head: bytes) -> tuple[int, int, int]:
    """(DB queries, cache hits, cache misses) from a response head; -1 for what it lacks."""
    db, cache = _DB_QUERIES.search(head), _CACHE.search(head)
    queries = int(db.group(1)) if db else -1
    hits, misses = (int(cache.group(1)), int(cache.group(2))) if cache else (-1, -1)
    return queries, hits, misses


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status, head


async def _connection(
    host: str,
    port: int,
    due: deque[tuple[float, bytes, str]],
    wake: asyncio.Event,
    tally: _Tally,
    stop: asyncio.Event,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while not (stop.is_set() and not due):
            if not due:
                wake.clear()
                await wake.wait()
                continue
            scheduled, raw, kind = due.popleft()
            try:
                status, head = await _exchange(reader, writer, raw)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tally.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            answered = time.perf_counter()
            tally.latencies.append(answered - scheduled)
            tally.records.append(
                [kind, answered - scheduled, status, answered - tally.start, *server_timing(head)]
            )
            key = f"{status // 100}xx"
            tally.statuses[key] = tally.statuses.get(key, 0) + 1
    finally:
        writer.close()


def encode(request: Request, host: str, port: int) -> bytes:
    headers = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}"]
    if request.token:
        headers.append(f"Authorization: Token {request.token}")
    if request.if_none_match:
        headers.append(f"If-None-Match: {request.if_none_match}")
    body = request.body.encode()
    if body:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def run(
    host: str, port: int, rate: float, seconds: float, connections: int, requests: list[Request]
) -> dict[str, object]:
    raws = [encode(r, host, port) for r in requests]
    due: deque[tuple[float, bytes, str]] = deque()
    wake, stop = asyncio.Event(), asyncio.Event()
    tally = _Tally([], {}, [])
    workers = [
        asyncio.create_task(_connection(host, port, due, wake, tally, stop))
        for _ in range(connections)
    ]
    await asyncio.sleep(0.2)  # let the connections open before the clock starts
    start = tally.start = time.perf_counter()
    total = int(rate * seconds)
    late = 0.0
    for i in range(total):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        # The loop's timers round to the millisecond and may wake a little early: a request is
        # due when it was released if that is earlier (never later: lateness stays counted).
        request = i % len(raws)
        due.append((min(at, time.perf_counter()), raws[request], requests[request].kind))
        tally.sent += 1
        wake.set()
    stop.set()
    wake.set()
    _done, pending = await asyncio.wait(workers, timeout=GRACE_SECONDS + seconds * 0.1)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - start
    unanswered = total - len(tally.latencies) - tally.errors
    return {
        "rate": rate,
        "seconds": elapsed,
        "sent": tally.sent,
        "latencies": tally.latencies,
        "statuses": tally.statuses,
        "records": tally.records,
        "errors": tally.errors + max(0, unanswered),
        # How late the generator itself put a request on the queue: near 0 unless it was the
        # limit (then its figures would understate the service's latency).
        "max_schedule_lag": late,
        "unfinished_connections": len(pending),
    }


def main() -> None:  # pragma: no cover - a subprocess entry point
    host, port, rate, seconds, connections, path = sys.argv[1:7]
    requests = read_requests(path)
    try:
        import uvloop

        result = uvloop.run(
            run(host, int(port), float(rate), float(seconds), int(connections), requests)
        )
    except ImportError:
        result = asyncio.run(
            run(host, int(port), float(rate), float(seconds), int(connections), requests)
        )
    json.dump(result, sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    main()
