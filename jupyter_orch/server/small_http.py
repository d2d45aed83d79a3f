"""A small HTTP/1.1 server on an asyncio loop: httptools parses, this module answers.

For one route that must answer in a fraction of a millisecond (the inference endpoint). On
these machines tornado's HTTP server costs about 0.3 ms more per request than this, nearly
all of it Python around the parsing; jupyter_server's handlers 3 ms more. What is kept:
keep-alive and pipelining (answers in request order), chunked bodies (httptools decodes them),
`Expect: 100-continue` (curl sends it for bodies over 1 KiB), limits on the head and the body
(431, 413), idle connections closed, 400 for what does not parse. Not kept: TLS, upgrades.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httptools

MAX_HEAD_BYTES = 64 * 1024
SEPARATE_BODY_BYTES = 256 * 1024
READ_BYTES = 256 * 1024
LARGE_BODY_BYTES = 1024 * 1024
IDLE_CONNECTION_S = 300.0


@dataclass
class Request:
    method: str = ""
    target: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    chunks: list[bytes | bytearray] = field(default_factory=list)

    @property
    def body(self) -> bytes | bytearray:
        return self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


# The handler answers at once (a Response) or later (an awaitable of one), on the server's loop.
Handler = Callable[[Request], Response | Awaitable[Response]]


class SmallHttpServer:
    def __init__(self, handler: Handler, max_body_bytes: int):
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self._connections: set[_Connection] = set()
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        self._servers = [await loop.create_server(lambda: _Connection(self), sock=s) for s in sockets]
        self._sweeper = loop.create_task(self._close_idle())

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self._connections):
            connection.transport.close()

    async def _close_idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CONNECTION_S / 10)
            quiet_since = time.monotonic() - IDLE_CONNECTION_S
            for connection in [c for c in self._connections if c.idle_since is not None and c.idle_since < quiet_since]:
                connection.transport.close()


class _Connection(asyncio.BufferedProtocol):
    """Reads into a buffer of its own; a large body with a Content-Length goes straight into the
    bytearray it is handed on in (copied once, by the kernel, instead of four times)."""

    def __init__(self, server: SmallHttpServer):
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.buffer = bytearray(READ_BYTES)
        self.large: bytearray | None = None  # the body being read into place
        self.large_filled = 0
        self.large_keep_alive = True
        self.transport: asyncio.Transport
        self.request = Request()
        self.head_bytes = 0
        self.body_bytes = 0
        self.in_head = True
        self.waiting: deque[tuple[Request, bool]] = deque()  # complete requests, and whether to keep alive
        self.answering = False
        self.later: asyncio.Future[None] | None = None  # the answer being awaited
        self.closing = False
        self.idle_since: float | None = time.monotonic()

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.closing = True

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.large is not None:
            return memoryview(self.large)[self.large_filled:]
        return memoryview(self.buffer)

    def buffer_updated(self, nbytes: int) -> None:
        self.idle_since = None
        if self.large is None:
            self._parse(memoryview(self.buffer)[:nbytes])
            return
        self.large_filled += nbytes
        if self.large_filled == len(self.large):  # the parser is mid-body: a new one reads what follows
            self.request.chunks = [self.large]
            self.large, self.parser = None, httptools.HttpRequestParser(self)
            self._complete(self.large_keep_alive)

    def _parse(self, data: memoryview) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:  # what a callback raised is its context
            if not isinstance(e.__context__, _Refused):
                raise
            self._refuse(e.__context__.status, e.__context__.msg)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "upgrades are not served here")
        except httptools.HttpParserError:
            self._refuse(400, "the request is not valid HTTP/1.1")
        else:
            if self.in_head:  # a head not yet whole (counted about: a read may also hold what came before)
                self.head_bytes += len(data)
                if self.head_bytes > MAX_HEAD_BYTES:
                    self._refuse(431, "the request head is too large")

    # --- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.request = Request()
        self.in_head, self.head_bytes, self.body_bytes = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self.request.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.request.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.in_head, self.head_bytes = False, 0
        self.request.method = self.parser.get_method().decode("latin-1")
        length = self.request.headers.get("content-length", "0")
        if length.isdigit() and int(length) > self.server.max_body_bytes:
            raise _Refused(413, f"the body is larger than {self.server.max_body_bytes} bytes")
        if self.request.headers.get("expect", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if length.isdigit() and int(length) >= LARGE_BODY_BYTES and "transfer-encoding" not in self.request.headers:
            self.large, self.large_filled = bytearray(int(length)), 0
            self.large_keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self.large is not None:  # the start of a large body, read with the head
            self.large[self.large_filled:self.large_filled + len(body)] = body
            self.large_filled += len(body)
            return
        self.body_bytes += len(body)
        if self.body_bytes > self.server.max_body_bytes:
            raise _Refused(413, f"the body is larger than {self.server.max_body_bytes} bytes")
        self.request.chunks.append(body)

    def on_message_complete(self) -> None:
        self._complete(self.parser.should_keep_alive())

    def _complete(self, keep_alive: bool) -> None:
        self.waiting.append((self.request, keep_alive))
        if not self.answering:
            self._answer_waiting()

    # --- answers -------------------------------------------------------------------------------

    def _answer_waiting(self) -> None:
        """Answer the waiting requests in order; one the handler answers later pauses the rest."""
        while self.waiting and not self.closing:
            request, keep_alive = self.waiting.popleft()
            answer = self.server.handler(request)
            if isinstance(answer, Response):
                self._send(answer, keep_alive)
                continue
            self.answering = True
            self.later = asyncio.ensure_future(self._answer_later(answer, keep_alive))
            return
        self.answering = False
        if not self.waiting:
            self.idle_since = time.monotonic()

    async def _answer_later(self, answer: Awaitable[Response], keep_alive: bool) -> None:
        self._send(await answer, keep_alive)
        self._answer_waiting()

    def _send(self, response: Response, keep_alive: bool) -> None:
        if self.closing:
            return
        head = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
                f"Content-Type: {response.content_type}", f"Content-Length: {len(response.body)}"]
        head += [f"{name}: {value}" for name, value in response.headers]
        if not keep_alive:
            head.append("Connection: close")
        head_bytes = "\r\n".join(head).encode("latin-1") + b"\r\n\r\n"
        if len(response.body) < SEPARATE_BODY_BYTES:  # one write: the client wakes once
            self.transport.write(head_bytes + response.body)
        else:  # not copied again just to be joined
            self.transport.write(head_bytes)
            self.transport.write(response.body)
        if not keep_alive:
            self.closing = True
            self.transport.close()

    def _refuse(self, status: int, msg: str) -> None:
        """A request that cannot be read to its end: answered, and the connection closed."""
        self.waiting.clear()
        self._send(error_response(status, msg), keep_alive=False)


class _Refused(Exception):
    def __init__(self, status: int, msg: str):
        super().__init__(msg)
        self.status, self.msg = status, msg


def error_response(status: int, msg: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, json.dumps({"msg": msg, "code": status}).encode(), "application/json", headers)
