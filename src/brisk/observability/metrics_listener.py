"""GET /metrics on its own address (`BRISK_TELEMETRY__METRICS_ADDRESS`), off the public port.

Metrics name routes, pools and error rates: what a scraper needs and a stranger should not see.
With an address set, the API port has no /metrics and this small listener answers it (only it,
only GET) on e.g. 127.0.0.1:9100 or a cluster-internal interface. Every worker binds the address
with SO_REUSEPORT, and any of them answers with the sum over all (ADR 0007's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

# A scrape request is a few hundred bytes; anything slower or bigger is not a scraper.
MAX_HEAD_BYTES = 8192
READ_TIMEOUT_SECONDS = 5.0

Render = Callable[[], tuple[bytes, str]]


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as given in the setting."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics address must be host:port, not {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - the operator's choice


def _response(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class MetricsListener:
    def __init__(self, address: str, render: Render) -> None:
        self.host, self.port = parse_address(address)
        self._render = render
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._answer, self.host, self.port, reuse_port=True, limit=MAX_HEAD_BYTES
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path, *_ = [*head.split(b"\r\n", 1)[0].split(b" "), b"", b""]
            if method != b"GET":
                writer.write(_response("405 Method Not Allowed", b"GET only\n"))
            elif path.split(b"?", 1)[0] != b"/metrics":
                writer.write(_response("404 Not Found", b"only /metrics here\n"))
            else:
                body, content_type = self._render()
                writer.write(_response("200 OK", body, content_type))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
