"""Routes: pipelines/create, list, get, add_model_step, clear, deploy, undeploy, delete, status.

`pipeline_id` is the pipeline's name (the reference's convention) or its integer id; give
`workspace_id` too when several workspaces hold a pipeline of that name.
"""

from __future__ import annotations

from typing import Any

from ..constants import PIPELINE_SETTLED
from . import requests as r
from .base import JsonRoute


class CreatePipeline(JsonRoute[r.CreatePipeline]):
    request_model = r.CreatePipeline

    async def handle(self, request: r.CreatePipeline, *args: str) -> Any:
        return await self.engine.pipelines.create(request.pipeline_id, request.workspace_id, request.definition)


class ListPipelines(JsonRoute[r.PipelineList]):
    request_model = r.PipelineList

    async def handle(self, request: r.PipelineList, *args: str) -> Any:
        return {"pipelines": await self.engine.pipelines.list(request.workspace_id)}


class GetPipeline(JsonRoute[r.PipelineRequest]):
    request_model = r.PipelineRequest

    async def handle(self, request: r.PipelineRequest, *args: str) -> Any:
        return await self.engine.pipelines.get(request.pipeline_id, request.workspace_id)


class AddModelStep(JsonRoute[r.AddModelStep]):
    request_model = r.AddModelStep

    async def handle(self, request: r.AddModelStep, *args: str) -> Any:
        return await self.engine.pipelines.add_model_step(
            request.pipeline_id, request.model_version_id, request.workspace_id
        )


class ClearPipeline(JsonRoute[r.PipelineRequest]):
    request_model = r.PipelineRequest

    async def handle(self, request: r.PipelineRequest, *args: str) -> Any:
        return await self.engine.pipelines.clear(request.pipeline_id, request.workspace_id)


class DeployPipeline(JsonRoute[r.DeployRequest]):
    """With `"wait": false`, answers once the pipeline is Starting (the reference's
    `deploy(wait_for_status=False)`); scripts then poll `pipelines/status`."""

    request_model = r.DeployRequest

    async def handle(self, request: r.DeployRequest, *args: str) -> Any:
        return await self.engine.pipelines.deploy(request.pipeline_id, request.workspace_id, request.wait)


class UndeployPipeline(JsonRoute[r.PipelineRequest]):
    request_model = r.PipelineRequest

    async def handle(self, request: r.PipelineRequest, *args: str) -> Any:
        return await self.engine.pipelines.undeploy(request.pipeline_id, request.workspace_id)


class DeletePipeline(JsonRoute[r.PipelineRequest]):
    """`{"pipeline_id", "workspace_id"?}`: undeployed and forgotten with its inference log -> `{}`."""

    request_model = r.PipelineRequest

    async def handle(self, request: r.PipelineRequest, *args: str) -> Any:
        await self.engine.pipelines.delete(request.pipeline_id, request.workspace_id)
        return {}


class PipelineStatus(JsonRoute[r.PipelineStatus]):
    """Answers at once, or with `wait_for` (a status, a list, or "terminal" = settled) once the
    pipeline reaches it."""

    request_model = r.PipelineStatus

    async def handle(self, request: r.PipelineStatus, *args: str) -> Any:
        wait = request.wait(PIPELINE_SETTLED)
        if wait is None:
            return await self.engine.pipelines.status(request.pipeline_id, request.workspace_id)
        return await self.engine.pipelines.wait_for_status(request.pipeline_id, request.workspace_id, *wait)
