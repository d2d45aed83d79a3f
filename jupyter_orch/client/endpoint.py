"""`pipeline.infer` through the server's inference endpoint (server/inference_endpoint.py).

A one-row inference there takes a fraction of a millisecond; through jupyter_server's own route
it takes 3-4. The client asks `pipelines/inference_url` once per pipeline for the endpoint's
address and a key, and keeps one connection to it. A key the endpoint refuses (it expired, or
the server restarted) is asked for again once. Where the server runs no endpoint, is reached
over HTTPS or a proxy, or its endpoint cannot be reached from here, `infer` takes the server's
route instead, as it does while another thread of this client is on the endpoint.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from .fast_lane import FastLane, Unreachable, lane_allowed
from .http import Http, error_of

log = logging.getLogger(__name__)


class InferenceEndpoint:
    def __init__(self, http: Http):
        self._http = http
        self._usable = lane_allowed(http.api)
        self._keys: dict[int, str] = {}
        self._lane: FastLane | None = None

    def infer(
        self, pipeline_id: int, name: str, workspace_id: int, body: bytes, headers: dict[str, str],
        timeout: float | None,
    ) -> tuple[bytes, str]:
        """The answer's bytes and Content-Type."""
        route = f"pipelines/infer/{quote(name, safe='')}"
        params = {"workspace_id": workspace_id}
        answer = self._through_endpoint(pipeline_id, route, params, body, headers, timeout or self._http.timeout)
        return answer or self._http.post_bytes(route, body, headers, params, timeout)

    def close(self) -> None:
        if self._lane is not None:
            self._lane.close()

    def _through_endpoint(
        self, pipeline_id: int, route: str, params: dict[str, Any], body: bytes, headers: dict[str, str],
        timeout: float,
    ) -> tuple[bytes, str] | None:
        for attempt in range(2):
            if not self._usable:
                return None
            if attempt:  # refused or unreachable: a new key (and, after a restart, a new port)
                self._keys.pop(pipeline_id, None)
            key = self._keys.get(pipeline_id) or self._ask(pipeline_id, params["workspace_id"])
            lane = self._lane
            if key is None or lane is None or not lane.lock.acquire(blocking=False):
                return None
            try:
                status, content, content_type = lane.post(route, params, body, {**headers, **_bearer(key)}, timeout)
            except Unreachable as e:  # nothing was sent
                if attempt:
                    log.warning("the inference endpoint cannot be reached (%s): inferring through the server", e)
                    self._usable = False
                continue
            finally:
                lane.lock.release()
            if status == 401 and not attempt:
                continue
            if status >= 400:
                raise error_of(status, content)
            return content, content_type
        return None

    def _ask(self, pipeline_id: int, workspace_id: int) -> str | None:
        answer = self._http.post("pipelines/inference_url", {"pipeline_id": pipeline_id, "workspace_id": workspace_id})
        if not answer.get("url"):
            self._usable = False
            return None
        host = urlsplit(self._http.api).hostname or "127.0.0.1"  # as this client reaches the server
        port = urlsplit(answer["url"]).port
        if self._lane is None or (self._lane.host, self._lane.port) != (host, port):
            self.close()
            self._lane = FastLane(f"http://{f'[{host}]' if ':' in host else host}:{port}/v1/api/", {})
        self._keys[pipeline_id] = answer["token"]
        return str(answer["token"])

def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
