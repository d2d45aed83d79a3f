"""Routes: pipelines/infer/<pipeline name> and pipelines/get_logs.

Both speak pandas-records JSON or Arrow IPC: infer answers in the format of its body
(`Content-Type`), get_logs in the one its `Accept` header names (JSON by default). JSON logs
give `time` in epoch milliseconds. get_logs pages with the `x-iteration-cursor` header (absent
on the last page) and `x-iteration-status` (`SomeRemaining` or `All`); with `"count": true`,
`x-total-count` gives the rows in the asked time range.
"""

from __future__ import annotations

from tornado import web
from tornado.escape import url_unescape

from ..engine.pipelines.frames import codec_for
from ..engine.pipelines.inference_log import make_query
from . import requests as r
from .base import OrchHandler, json_body


class Infer(OrchHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        codec = codec_for(self.request.headers.get("Content-Type"))
        query = r.parse(r.InferQuery, {"workspace_id": self.get_query_argument("workspace_id", None)})
        answer = await self.engine.pipelines.infer(url_unescape(name), query.workspace_id, self.request.body, codec)
        self.finish(answer, set_content_type=codec.content_type)


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
