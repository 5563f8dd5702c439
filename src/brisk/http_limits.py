"""Bounds on what a client may make the server hold: header size and header/body read time.

uvicorn with httptools (ADR 0003) bounds none of these: a 48 MB header was read whole and
answered 200 (1.6 s of CPU), a connection that never sends a byte stayed open until the client
gave up, and a client sending one header byte a second held its connection indefinitely
(issue 14). uvicorn's only header limit (`h11_max_incomplete_event_size`) is for h11, and its
keep-alive timeout starts only after a first response. This protocol is uvicorn's httptools one
with those bounds added (ADR 0019):

* the request head (request line and headers) may be at most `max_header_bytes`: past it the
  answer is 431 and the connection closes, before the rest is read;
* from the connection's start, or from the first byte of a request on a kept-alive one, the
  whole head must arrive within `header_timeout_seconds` (else 408 and close);
* a body must arrive within `body_timeout_seconds` of its head (else the connection closes);
* idle kept-alive connections close after `keep_alive_seconds` (uvicorn's own timer).

The settings are brisk's (`BRISK_HTTP__*`), so another server can be given the same limits
through its own options. For a GET that arrives in one packet the cost is one addition and a
few attribute checks: the timers are armed only when a head or a body is still incomplete after
the bytes at hand were parsed (measured in ADR 0019).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_LINE_OVERHEAD = 4  # ": " and CRLF around each header


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float


class _HeadTooLargeError(Exception):
    pass


def _refusal(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps({"errors": {"body": [message]}})
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized heads and slow senders."""

    def __init__(self, *args: Any, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_begun = False  # a request's first byte has been parsed
        self._head_done = False  # ...and its whole head
        self._message_done = True
        self._raw_head_bytes = 0  # bytes seen while a head is incomplete (a cheap upper bound)
        self._head_bytes = 0  # the parsed head's exact size
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # -- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never sends a byte is bounded too (uvicorn's keep-alive timer only
        # starts after a first response).
        self._head_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_timed_out
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if not self._head_done:
            self._raw_head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn's own data_received
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_too_large()
            else:
                self.send_400_response("Invalid HTTP request received.")
            return
        if self.transport.is_closing():
            return
        if not self._head_done:
            if self._raw_head_bytes > self.limits.max_header_bytes:
                self._refuse_too_large()
            elif self._head_begun and self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.limits.header_timeout_seconds, self._head_timed_out
                )
        elif not self._message_done and self._body_timer is None:
            self._body_timer = self.loop.call_later(
                self.limits.body_timeout_seconds, self._body_timed_out
            )

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_begun = True
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + HEAD_LINE_OVERHEAD
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_bytes > self.limits.max_header_bytes:
            raise _HeadTooLargeError  # stops the parser: no ASGI task for this request
        self._head_done, self._message_done = True, False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message_done = True
        self._head_begun = self._head_done = False  # what comes next is the next request
        self._raw_head_bytes = self._head_bytes = 0
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    # -- refusals -------------------------------------------------------------------------

    def _refuse_too_large(self) -> None:
        limit = self.limits.max_header_bytes
        message = f"request headers are larger than {limit} bytes"
        self._close_with(_refusal(431, "Request Header Fields Too Large", message))

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        seconds = self.limits.header_timeout_seconds
        message = f"request headers did not arrive within {seconds:g} s"
        self._close_with(_refusal(408, "Request Timeout", message))

    def _body_timed_out(self) -> None:
        # The app is already reading the body: it sees a disconnect, not a second response.
        self._body_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _close_with(self, response: bytes) -> None:
        self._cancel_timers()
        self.transport.write(response)
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None
