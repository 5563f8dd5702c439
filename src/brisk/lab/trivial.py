"""A trivial HTTP server (constant 1 KB JSON, no framework) for measuring the load generator.

Run as `python -m brisk.lab.trivial PORT`. It parses nothing beyond the end of each request's
headers, so on one core it answers far faster than any framework can: the rate a generator
reaches against it is a lower bound of the generator's own ceiling.
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

BODY = b'{"ok":true,"pad":"' + b"x" * 1000 + b'"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class _Constant(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        # Bodies of the lab's GETs are empty, so each header end is one request (pipelining too).
        self._buffer += data
        count = self._buffer.count(b"\r\n\r\n")
        if count:
            self._buffer = self._buffer[self._buffer.rfind(b"\r\n\r\n") + 4 :]
            self._transport.write(RESPONSE * count)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Constant, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:  # pragma: no cover - a subprocess entry point
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(int(sys.argv[1])))
    else:
        uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":  # pragma: no cover
    main()
