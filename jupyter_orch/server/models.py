"""Routes: models/upload (multipart ONNX), models/list, models/get, models/configure, models/delete."""

from __future__ import annotations

from typing import Any

from tornado import web

from . import requests as r
from .base import JsonRoute, MultipartUpload


class UploadModel(MultipartUpload):
    @web.authenticated
    async def post(self) -> None:
        data, file_name, metadata = await self.parts(r.ModelMetadata)
        self.reply(await self.engine.models.upload(metadata.workspace_id, metadata.name, data, file_name))


class ListModels(JsonRoute[r.ModelList]):
    request_model = r.ModelList

    async def handle(self, request: r.ModelList, *args: str) -> Any:
        return {"models": await self.engine.models.list(request.workspace_id)}


class GetModel(JsonRoute[r.GetModel]):
    """`{"id"}` (integer id or version UUID), or `{"name", "workspace_id"?}` for the newest version."""

    request_model = r.GetModel

    async def handle(self, request: r.GetModel, *args: str) -> Any:
        if request.id is not None:
            return await self.engine.models.get(request.id)
        if request.name is not None:
            return await self.engine.models.latest(request.name, request.workspace_id)
        raise web.HTTPError(400, "give the model's 'id' or its 'name'")


class DeleteModel(JsonRoute[r.DeleteModel]):
    """`{"id"}` (integer id or version UUID) of a version no pipeline uses -> `{"bytes": freed}`."""

    request_model = r.DeleteModel

    async def handle(self, request: r.DeleteModel, *args: str) -> Any:
        return {"bytes": await self.engine.retention.delete_model(request.id)}


class ConfigureModel(JsonRoute[r.ConfigureModel]):
    request_model = r.ConfigureModel

    async def handle(self, request: r.ConfigureModel, *args: str) -> Any:
        return await self.engine.models.configure(request.model_version_id, request.tensor_fields)
