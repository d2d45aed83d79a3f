"""The HTTP side of the client: one `requests.Session`, Bearer auth, errors as exceptions."""

from __future__ import annotations

from typing import Any

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

    def close(self) -> None:
        self.session.close()


def _error(response: requests.Response) -> ApiError:
    try:
        msg = response.json()["msg"]
    except (ValueError, KeyError, TypeError):
        msg = response.text.strip()[:500] or response.reason
    if response.status_code == 404:
        return ApiNotFound(msg)
    return ApiError(msg, response.status_code)
