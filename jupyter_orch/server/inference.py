"""Routes: pipelines/infer/<pipeline name> and pipelines/get_logs.

Both speak pandas-records JSON or Arrow IPC: infer answers in the format of its body
(`Content-Type`), get_logs in the one its `Accept` header names (JSON by default). JSON logs
give `time` in epoch milliseconds. get_logs pages with the `x-iteration-cursor` header (absent
on the last page) and `x-iteration-status` (`SomeRemaining` or `All`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tornado import web
from tornado.escape import url_unescape

from ..engine import Invalid
from ..engine.pipelines.frames import codec_for
from ..engine.pipelines.inference_log import make_query
from ..engine.timeutil import parse_time
from .base import OrchHandler, json_body, route


@route(r"pipelines/infer/([^/]+)")
class Infer(OrchHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        codec = codec_for(self.request.headers.get("Content-Type"))
        workspace_id = self.get_query_argument("workspace_id", None)
        answer = await self.engine.pipelines.infer(url_unescape(name), workspace_id, self.request.body, codec)
        self.finish(answer, set_content_type=codec.content_type)


@route("pipelines/get_logs")
class GetLogs(OrchHandler):
    @web.authenticated
    async def post(self) -> None:
        body = json_body(self)
        if "pipeline_name" not in body:
            raise web.HTTPError(400, "'pipeline_name' is required")
        query = make_query(
            log_time(body.get("start_time"), "start_time"),
            log_time(body.get("end_time"), "end_time"),
            body.get("order"),
            body.get("page_size"),
            body.get("cursor"),
        )
        codec = codec_for(self.request.headers.get("Accept"))
        answer, page = await self.engine.pipelines.logs(
            body["pipeline_name"], body.get("workspace_id"), query, codec
        )
        if page.cursor:
            self.set_header("x-iteration-cursor", page.cursor)
        self.set_header("x-iteration-status", "SomeRemaining" if page.remaining else "All")
        self.finish(answer, set_content_type=codec.content_type)


def log_time(value: Any, field: str) -> datetime | None:
    """An ISO 8601 time (naive = UTC) or epoch milliseconds."""
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        return parse_time(value)
    except (TypeError, ValueError, AttributeError, OverflowError, OSError):
        raise Invalid(f"'{field}' must be an ISO 8601 time or epoch milliseconds, got {value!r}") from None
