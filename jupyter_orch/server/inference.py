"""Routes: pipelines/infer/<pipeline name>, pipelines/inference_url and pipelines/get_logs.

Both speak pandas-records JSON or Arrow IPC: infer answers in the format of its body
(`Content-Type`), get_logs in the one its `Accept` header names (JSON by default). JSON logs
give `time` in epoch milliseconds. get_logs pages with the `x-iteration-cursor` header (absent
on the last page) and `x-iteration-status` (`SomeRemaining` or `All`); with `"count": true`,
`x-total-count` gives the rows in the asked time range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tornado import web
from tornado.escape import url_unescape

from ..engine.pipelines.frames import codec_for
from ..engine.pipelines.inference_log import make_query
from . import requests as r
from .auth import RunUser
from .base import JsonRoute, OrchHandler, json_body
from .inference_endpoint import MINIMAL, PATH_PREFIX, PREFERENCE_APPLIED, InferenceEndpoint, echoes_inputs


class Infer(OrchHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        codec = codec_for(self.request.headers.get("Content-Type"))
        query = r.parse(r.InferQuery, {"workspace_id": self.get_query_argument("workspace_id", None)})
        echo = echoes_inputs(self.request.headers.get("Prefer"))
        body = self.request.body
        answer = await self.engine.pipelines.infer(url_unescape(name), query.workspace_id, body, codec, echo)
        if not echo:
            self.set_header(PREFERENCE_APPLIED, MINIMAL)
        self.finish(answer, set_content_type=codec.content_type)


class InferenceUrl(JsonRoute[r.PipelineRequest]):
    """`{"pipeline_id", "workspace_id"?}` -> `{"url", "token", "expires_at", "pipeline_id",
    "pipeline_name", "workspace_id"}`: where the inference endpoint answers this pipeline's
    `infer`, and a key for it (`Authorization: Bearer <token>`), authorized as `infer` is here.
    `url` and `token` are null when the server runs no endpoint."""

    request_model = r.PipelineRequest

    async def handle(self, request: r.PipelineRequest, *args: str) -> Any:
        pipeline = await self.engine.pipelines.get(request.pipeline_id, request.workspace_id)
        answer: dict[str, Any] = {"url": None, "token": None, "expires_at": None, "pipeline_id": pipeline.id,
                                  "pipeline_name": pipeline.name, "workspace_id": pipeline.workspace_id}
        endpoint: InferenceEndpoint = self.settings["orch_inference_endpoint"]
        if endpoint.port is None:
            return answer
        user = self.current_user
        run_id = user.grant.run_id if isinstance(user, RunUser) and user.grant is not None else None
        key, expires_at = endpoint.keys.mint(pipeline.id, pipeline.name, pipeline.workspace_id, run_id)
        path = PATH_PREFIX + quote(pipeline.name, safe="")
        return {**answer, "url": f"http://{self.request.host_name}:{endpoint.port}{path}", "token": key,
                "expires_at": datetime.fromtimestamp(expires_at, UTC)}


class GetLogs(OrchHandler):
    @web.authenticated
    async def post(self) -> None:
        request = r.parse(r.InferenceLogRequest, json_body(self))
        query = make_query(request.start_time, request.end_time, request.order, request.page_size, request.cursor)
        codec = codec_for(self.request.headers.get("Accept"))
        answer, page = await self.engine.pipelines.logs(
            request.pipeline_name, request.workspace_id, query, codec, request.count
        )
        if page.total is not None:
            self.set_header("x-total-count", str(page.total))
        if page.cursor:
            self.set_header("x-iteration-cursor", page.cursor)
        self.set_header("x-iteration-status", "SomeRemaining" if page.remaining else "All")
        self.finish(answer, set_content_type=codec.content_type)
