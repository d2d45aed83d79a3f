"""One kept-alive HTTP/1.1 connection for inference bodies: a POST, its answer, nothing else.

A one-row inference is a fraction of a millisecond of work on the server's inference endpoint;
`requests` costs about 0.8 ms a call here, and `http.client` 0.15 ms more than this (it builds
the head in pieces, writes head and body apart and parses the answer's headers with the email
package). Here the request goes out in one write and httptools parses the answer. Taken for
plain-HTTP servers reached without a proxy, by one thread at a time (`lock`).
"""

from __future__ import annotations

import select
import socket
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools
import requests

CONNECT_TIMEOUT_S = 5.0
READ_BYTES = 256 * 1024
SEPARATE_BODY_BYTES = 256 * 1024


class Unreachable(requests.ConnectionError):
    """Not even connected: nothing was sent."""


class FastLane:
    def __init__(self, api: str, auth: dict[str, str]):
        parts = urlsplit(api)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.auth = auth
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self._host_header = parts.netloc.rsplit("@", 1)[-1]

    def post(
        self, route: str, params: dict[str, Any], body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes, str]:
        """The answer's status, bytes and Content-Type; `requests.ConnectionError` when the
        connection fails (`Unreachable` when it could not even be made)."""
        sock = self._connected(timeout)
        query = {k: v for k, v in params.items() if v is not None}
        target = self.path + route + (f"?{urlencode(query)}" if query else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {self._host_header}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in {**self.auth, **headers}.items()]
        try:
            sock.settimeout(timeout)
            head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
            if len(body) < SEPARATE_BODY_BYTES:  # one write: the server wakes once
                sock.sendall(head + body)
            else:  # not copied just to be joined
                sock.sendall(head)
                sock.sendall(body)
            parser = httptools.HttpResponseParser(answer := _Answer())
            answer.parser = parser
            while not answer.complete:
                data = sock.recv(READ_BYTES)
                if not data:
                    raise ConnectionResetError("the server closed the connection before answering")
                parser.feed_data(data)
        except (OSError, httptools.HttpParserError) as e:
            self.close()
            raise requests.ConnectionError(f"POST {target}: {e}") from e
        if not answer.keep_alive:
            self.close()
        return parser.get_status_code(), b"".join(answer.chunks), answer.content_type

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _connected(self, timeout: float) -> socket.socket:
        if self.sock is not None and _dropped(self.sock):
            self.close()  # the server closed the idle connection: never resend on one that dropped
        if self.sock is None:
            try:
                self.sock = socket.create_connection((self.host, self.port), min(timeout, CONNECT_TIMEOUT_S))
            except OSError as e:
                raise Unreachable(f"{self.host}:{self.port}: {e}") from e
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock


class _Answer:
    """httptools' callbacks for one answer."""

    def __init__(self) -> None:
        self.parser: httptools.HttpResponseParser | None = None
        self.chunks: list[bytes] = []
        self.content_type = ""
        self.complete = False
        self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self.content_type = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        # httptools answers should_keep_alive() for the message being parsed: ask before it ends
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()
        self.complete = True


def lane_allowed(api: str) -> bool:
    return urlsplit(api).scheme == "http" and not requests.utils.get_environ_proxies(api)


def _dropped(sock: socket.socket) -> bool:
    """Whether a kept-alive socket was closed by the server (readable while no answer is due)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
