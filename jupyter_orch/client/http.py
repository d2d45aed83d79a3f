"""The HTTP side of the client: one `requests.Session`, Bearer auth, errors as exceptions.

Inference bodies also have a fast lane (`post_bytes`): one kept-alive `http.client`
connection. A one-row inference is a millisecond or two of work, and requests' own per-call
work (preparing the request, adapters, hooks, cookie jars, urllib3's pool) costs as much
again. The lane is taken for plain-HTTP servers reached without a proxy, by one thread at a
time; everything else goes through the session.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from .errors import ApiError, ApiNotFound


class Auth:
    """`wl.auth.auth_header()` gives the header the reference tutorial passes to `requests`."""

    def __init__(self, token: str):
        self._token = token

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


class Http:
    def __init__(self, url: str, token: str, timeout: float):
        self.url = url if url.endswith("/") else url + "/"
        self.api = self.url + "v1/api/"
        self.timeout = timeout
        self.auth = Auth(token)
        self.session = requests.Session()
        self.session.headers.update(self.auth.auth_header())
        self._lane = _FastLane(self.api, self.auth.auth_header()) if _lane_allowed(self.api) else None

    def post(self, route: str, body: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """POST a JSON body to `v1/api/<route>`; return the decoded JSON answer."""
        response = self.send(route, json=body or {}, timeout=timeout)
        return response.json() if response.content else None

    def post_all(self, route: str, body: dict[str, Any] | None = None, key: str | None = None) -> list[Any]:
        """POST to a paged list route and follow its `x-iteration-cursor` to the last page; the
        items of every page (the answer itself, or its `key` member)."""
        body, items = dict(body or {}), []
        while True:
            response = self.send(route, json=body)
            answer = response.json()
            items += answer[key] if key else answer
            cursor = response.headers.get("x-iteration-cursor")
            if not cursor:
                return items
            body["cursor"] = cursor

    def send(self, route: str, *, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        """POST anything (`json=`, `data=`, `files=`, `headers=`); raise `ApiError` on 4xx/5xx."""
        response = self.session.post(self.api + route, timeout=timeout or self.timeout, **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        return response

    def get(self, url: str, *, stream: bool = False) -> requests.Response:
        """GET a download (an absolute URL, or a path on the server); raise `ApiError` on 4xx/5xx."""
        response = self.session.get(urljoin(self.url, url), timeout=self.timeout, stream=stream)
        if response.status_code >= 400:
            raise _error(response)
        return response

    def post_bytes(
        self, route: str, body: bytes, headers: dict[str, str], params: dict[str, Any], timeout: float | None = None
    ) -> tuple[bytes, str]:
        """POST a body to `v1/api/<route>?<params>`; the answer's bytes and Content-Type."""
        lane = self._lane
        if lane is not None and lane.lock.acquire(blocking=False):
            try:
                status, content, content_type = lane.post(route, params, body, headers, timeout or self.timeout)
            finally:
                lane.lock.release()
            if status >= 400:
                raise _error_of(status, content)
            return content, content_type
        response = self.send(route, params=params, data=body, headers=headers, timeout=timeout)
        return response.content, response.headers.get("Content-Type", "")

    def close(self) -> None:
        self.session.close()
        if self._lane is not None:
            self._lane.close()


class _FastLane:
    def __init__(self, api: str, auth: dict[str, str]):
        parts = urlsplit(api)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.auth = auth
        self.lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None

    def post(
        self, route: str, params: dict[str, Any], body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes, str]:
        connection = self._connected(timeout)
        query = {k: v for k, v in params.items() if v is not None}
        target = self.path + route + (f"?{urlencode(query)}" if query else "")
        try:
            connection.request("POST", target, body, {**self.auth, **headers})
            response = connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise requests.ConnectionError(f"POST {target}: {e}") from e
        if response.will_close:
            self.close()
        return response.status, content, response.getheader("Content-Type", "")

    def _connected(self, timeout: float) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None and _dropped(connection.sock):
            self.close()  # the server closed the idle connection: never resend on one that dropped
            connection = None
        if connection is None:
            connection = self._connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            connection.connect()
            # http.client sends the headers and the body in two writes: without this, the body
            # waits for the server's delayed ACK of the headers (Nagle's algorithm).
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _lane_allowed(api: str) -> bool:
    return urlsplit(api).scheme == "http" and not requests.utils.get_environ_proxies(api)


def _dropped(sock: Any) -> bool:
    """Whether a kept-alive socket was closed by the server (readable while no answer is due)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _error(response: requests.Response) -> ApiError:
    return _error_of(response.status_code, response.content, response.reason)


def _error_of(status: int, content: bytes, reason: str = "") -> ApiError:
    try:
        msg = json.loads(content)["msg"]
    except (ValueError, KeyError, TypeError):
        msg = content.decode(errors="replace").strip()[:500] or reason or f"HTTP {status}"
    if status == 404:
        return ApiNotFound(msg)
    return ApiError(msg, status)
