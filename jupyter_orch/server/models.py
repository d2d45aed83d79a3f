"""Routes: models/upload (multipart ONNX), models/list, models/get, models/configure."""

from __future__ import annotations

from typing import Any

from tornado import web

from .base import JsonRoute, MultipartUpload, route


@route("models/upload")
class UploadModel(MultipartUpload):
    @web.authenticated
    async def post(self) -> None:
        data, file_name, metadata = self.parts()
        for required in ("name", "workspace_id"):
            if required not in metadata:
                raise web.HTTPError(400, f"the 'metadata' part must name a '{required}'")
        model = await self.engine.models.upload(metadata["workspace_id"], metadata["name"], data, file_name)
        self.reply(model)


@route("models/list")
class ListModels(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        if "workspace_id" not in body:
            raise web.HTTPError(400, "'workspace_id' is required")
        return {"models": self.engine.models.list(body["workspace_id"])}


@route("models/get")
class GetModel(JsonRoute):
    """`{"id"}` (integer id or version UUID), or `{"name", "workspace_id"?}` for the newest version."""

    async def handle(self, body: dict[str, Any]) -> Any:
        if "id" in body:
            return self.engine.models.get(body["id"])
        if "name" in body:
            return self.engine.models.latest(body["name"], body.get("workspace_id"))
        raise web.HTTPError(400, "give the model's 'id' or its 'name'")


@route("models/configure")
class ConfigureModel(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        if "model_version_id" not in body:
            raise web.HTTPError(400, "'model_version_id' is required")
        return self.engine.models.configure(body["model_version_id"], body.get("tensor_fields"))
