"""Routes: orchestration/upload, list, list_all, get_by_id."""

from __future__ import annotations

from typing import Any

from tornado import web

from ..engine.orchestrations.orchestrations import TERMINAL
from .base import JsonRoute, MultipartUpload, route
from .waiting import wait_request


@route("orchestration/upload")
class UploadOrchestration(MultipartUpload):
    @web.authenticated
    async def post(self) -> None:
        data, file_name, metadata = self.parts()
        if "workspace_id" not in metadata:
            raise web.HTTPError(400, "the 'metadata' part must name a 'workspace_id'")
        orch = await self.engine.orchestrations.upload(
            metadata["workspace_id"], data, file_name, metadata.get("name"), self.owner_id
        )
        self.reply({"id": orch.id}, 202)


@route("orchestration/list")
class ListOrchestrations(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        if body.get("workspace_id") is None:
            raise web.HTTPError(400, "'workspace_id' is required (orchestration/list_all lists every workspace)")
        return self.engine.orchestrations.list(body["workspace_id"])


@route("orchestration/list_all")
class ListAllOrchestrations(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.orchestrations.list()


@route("orchestration/get_by_id")
class GetOrchestration(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        wait = wait_request(body, TERMINAL)
        if wait is None:
            return self.engine.orchestrations.get(body.get("id"))
        return await self.engine.orchestrations.wait_for(body.get("id"), *wait)
