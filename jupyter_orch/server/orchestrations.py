"""Routes: orchestration/upload, list, list_all, get_by_id, delete_orchestrations."""

from __future__ import annotations

from typing import Any

from tornado import web

from ..constants import ORCH_TERMINAL
from . import requests as r
from .base import JsonRoute, MultipartUpload


class UploadOrchestration(MultipartUpload):
    @web.authenticated
    async def post(self) -> None:
        data, file_name, metadata = await self.parts(r.UploadMetadata)
        orch = await self.engine.orchestrations.upload(
            metadata.workspace_id, data, file_name, metadata.name, self.owner_id, metadata.entrypoint
        )
        self.reply({"id": orch.id}, 202)


class ListOrchestrations(JsonRoute[r.OrchestrationList]):
    request_model = r.OrchestrationList

    async def handle(self, request: r.OrchestrationList, *args: str) -> Any:
        if request.workspace_id is None:
            raise web.HTTPError(400, "'workspace_id' is required (orchestration/list_all lists every workspace)")
        return self.page_answer(await self.engine.orchestrations.list_page(request.workspace_id, request.page()))


class ListAllOrchestrations(JsonRoute[r.Paging]):
    request_model = r.Paging

    async def handle(self, request: r.Paging, *args: str) -> Any:
        return self.page_answer(await self.engine.orchestrations.list_page(None, request.page()))


class DeleteOrchestrations(JsonRoute[r.DeleteOrchestrations]):
    """The reference's delete: `{"orchestrations": [ids], "confirm_delete"?}` -> `{"bytes": freed}`."""

    request_model = r.DeleteOrchestrations

    async def handle(self, request: r.DeleteOrchestrations, *args: str) -> Any:
        return {"bytes": await self.engine.retention.delete_orchestrations(request.orchestrations,
                                                                           request.confirm_delete)}


class GetOrchestration(JsonRoute[r.GetOrchestration]):
    request_model = r.GetOrchestration

    async def handle(self, request: r.GetOrchestration, *args: str) -> Any:
        wait = request.wait(ORCH_TERMINAL)
        if wait is None:
            return await self.engine.orchestrations.get(request.id)
        return await self.engine.orchestrations.wait_for(request.id, *wait)
