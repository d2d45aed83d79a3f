"""The HTTP side of the client: one `requests.Session`, Bearer auth, errors as exceptions.

Inference bodies also have a fast lane (`post_bytes`, fast_lane.py): one kept-alive
connection, where requests' own per-call work (preparing the request, adapters, hooks, cookie
jars, urllib3's pool) would cost more than the inference. The lane is taken for plain-HTTP
servers reached without a proxy, by one thread at a time; everything else goes through the
session.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

import requests

from .errors import ApiError, ApiNotFound, ServerNotFound
from .fast_lane import FastLane, lane_allowed


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
        self._lane = FastLane(self.api, self.auth.auth_header()) if lane_allowed(self.api) else None

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
                raise error_of(status, content)
            return content, content_type
        response = self.send(route, params=params, data=body, headers=headers, timeout=timeout)
        return response.content, response.headers.get("Content-Type", "")

    def close(self) -> None:
        self.session.close()
        if self._lane is not None:
            self._lane.close()


def _error(response: requests.Response) -> ApiError:
    return error_of(response.status_code, response.content, response.reason)


def error_of(status: int, content: bytes, reason: str = "") -> ApiError:
    try:
        msg = json.loads(content)["msg"]
    except (ValueError, KeyError, TypeError):
        msg = content.decode(errors="replace").strip()[:500] or reason or f"HTTP {status}"
    if status == 404:
        return ApiNotFound(msg)
    return ApiError(msg, status)


class NoServer(Http):
    """The line of a client in a dry run that found no server (dry runs need none): the run's
    own things (`task_args`) work, and a request says at once why it cannot be made."""

    REASON = ("this dry run found no jupyter-orch server to ask (a dry run needs none: "
              "Client().task_args() works without one); start one, or run the orchestration as a task")

    def __init__(self, timeout: float):
        super().__init__("http://no-server.invalid/", "", timeout)
        self._lane = None

    def send(self, route: str, *, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        raise ServerNotFound(self.REASON)

    def get(self, url: str, *, stream: bool = False) -> requests.Response:
        raise ServerNotFound(self.REASON)
