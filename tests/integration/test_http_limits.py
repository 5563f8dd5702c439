"""The server bounds what a client can make it hold (issue 14, ADR 0019): a head past
`BRISK_HTTP__MAX_HEADER_BYTES` is a 431 before the rest is read, a head that does not arrive
within `BRISK_HTTP__HEADER_TIMEOUT_SECONDS` (idle new connection, or a slow sender) is a 408 and
a closed connection, a stalled body and an idle kept-alive connection are closed. Against a real
`brisk serve` on each server it can run, with raw sockets.

The servers differ in what they say, not in the bounds (ADR 0019): uvicorn (brisk's protocol)
answers 431 and 408 in the RealWorld error format; granian (hyper) answers 431 with no body and
closes a connection whose head is late without an answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.live import Served, free_port, serve, wait_ready

LIMIT = 8192
# Hang guards, not speed checks: the server's own bounds are 1 s here.
GUARD_SECONDS = 15.0
ENV = {
    "BRISK_HTTP__MAX_HEADER_BYTES": str(LIMIT),
    "BRISK_HTTP__HEADER_TIMEOUT_SECONDS": "1",
    "BRISK_HTTP__BODY_TIMEOUT_SECONDS": "1",
    "BRISK_HTTP__KEEP_ALIVE_SECONDS": "1",
}


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
async def served(
    request: pytest.FixtureRequest,
    servers: tuple[str, str],
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Served]:
    log: Path = tmp_path_factory.mktemp("limits") / "serve.log"
    process = serve(
        database_url, servers[1], log, "--server", request.param, env=ENV, port=free_port()
    )
    process.server = request.param  # type: ignore[attr-defined]
    try:
        await wait_ready(process)
        yield process
    finally:
        process.stop()


def _is_late_head_refusal(served: Served, answer: bytes) -> bool:
    """uvicorn answers 408; granian closes without a word (hyper's header read timeout)."""
    if served.server == "granian":  # type: ignore[attr-defined]
        return answer == b""
    return answer.startswith(b"HTTP/1.1 408")


async def _connect(served: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = served.base.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(GUARD_SECONDS):
        return await reader.read()


def _request(headers: bytes = b"", method: bytes = b"GET", path: bytes = b"/api/tags") -> bytes:
    return method + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"


async def test_a_head_within_the_limit_is_served(served: Served) -> None:
    reader, writer = await _connect(served)
    writer.write(_request(b"X-Padding: " + b"a" * (LIMIT - 200) + b"\r\nConnection: close\r\n"))
    answer = await _until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


HEAD_START = b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n"
PAST_THE_LIMIT = {  # twice the limit, the head never finished
    "one-huge-header": HEAD_START + b"X-Big: " + b"b" * (2 * LIMIT),
    "many-headers": HEAD_START + b"X-H: v\r\n" * (2 * LIMIT // 8),
    "huge-url": b"GET /api/tags?" + b"q" * (2 * LIMIT),
}


@pytest.mark.parametrize("shape", list(PAST_THE_LIMIT))
async def test_a_head_past_the_limit_is_431(served: Served, shape: str) -> None:
    reader, writer = await _connect(served)
    writer.write(PAST_THE_LIMIT[shape])
    await writer.drain()
    answer = await _until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    if served.server == "uvicorn":  # type: ignore[attr-defined]
        assert b"larger than 8192 bytes" in answer


async def test_a_48_mb_header_is_not_read(served: Served) -> None:
    """The attacker's 48 MB header: the server stops reading long before (the connection
    breaks under the sender), instead of parsing it all and answering 200."""
    reader, writer = await _connect(served)
    writer.write(HEAD_START + b"X-Big: ")
    sent, chunk = 0, b"b" * 65536
    with contextlib.suppress(ConnectionError):
        async with asyncio.timeout(GUARD_SECONDS):
            while sent < 48 * 1024 * 1024:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
    with contextlib.suppress(ConnectionError):
        answer = await _until_closed(reader)
        assert b"HTTP/1.1 200" not in answer
    writer.close()
    assert sent < 8 * 1024 * 1024, f"the server took {sent} bytes of one header"


async def test_an_idle_new_connection_is_closed(served: Served) -> None:
    reader, writer = await _connect(served)
    answer = await _until_closed(reader)  # we send nothing at all
    writer.close()
    assert _is_late_head_refusal(served, answer), answer[:200]


async def test_a_slow_sender_is_cut_off(served: Served) -> None:
    reader, writer = await _connect(served)
    writer.write(b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

    async def dribble() -> None:  # one byte every 0.2 s, as a slowloris client does
        with contextlib.suppress(ConnectionError):
            for _ in range(int(GUARD_SECONDS / 0.2)):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)

    sender = asyncio.create_task(dribble())
    try:
        answer = await _until_closed(reader)
    finally:
        sender.cancel()
        writer.close()
    assert _is_late_head_refusal(served, answer), answer[:200]


async def test_a_stalled_body_is_cut_off(served: Served) -> None:
    reader, writer = await _connect(served)
    head = _request(b"Content-Type: application/json\r\nContent-Length: 100\r\n", b"POST")
    writer.write(head.replace(b"/api/tags", b"/api/users/login") + b'{"user":')
    await writer.drain()
    answer = await _until_closed(reader)  # the rest of the body never comes
    writer.close()
    assert b"HTTP/1.1 200" not in answer


async def test_an_idle_kept_alive_connection_is_closed(served: Served) -> None:
    reader, writer = await _connect(served)
    writer.write(_request())
    await writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    rest = await _until_closed(reader)  # then nothing more is sent
    writer.close()
    assert b"HTTP/1.1" not in rest  # closed, not answered again
