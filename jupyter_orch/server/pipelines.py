"""Routes: pipelines/create, list, get, add_model_step, clear, deploy, undeploy, status.

`pipeline_id` is the pipeline's name (the reference's convention) or its integer id; give
`workspace_id` too when several workspaces hold a pipeline of that name.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ..engine.pipelines import SETTLED
from .base import JsonRoute, route
from .waiting import wait_request


def pipeline_ref(body: dict[str, Any]) -> Any:
    if "pipeline_id" not in body:
        raise web.HTTPError(400, "'pipeline_id' (the pipeline's name) is required")
    return body["pipeline_id"]


@route("pipelines/create")
class CreatePipeline(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        if "workspace_id" not in body:
            raise web.HTTPError(400, "'workspace_id' is required")
        return self.engine.pipelines.create(pipeline_ref(body), body["workspace_id"], body.get("definition"))


@route("pipelines/list")
class ListPipelines(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return {"pipelines": self.engine.pipelines.list(body.get("workspace_id"))}


@route("pipelines/get")
class GetPipeline(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.pipelines.get(pipeline_ref(body), body.get("workspace_id"))


@route("pipelines/add_model_step")
class AddModelStep(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        if "model_version_id" not in body:
            raise web.HTTPError(400, "'model_version_id' is required")
        return self.engine.pipelines.add_model_step(
            pipeline_ref(body), body["model_version_id"], body.get("workspace_id")
        )


@route("pipelines/clear")
class ClearPipeline(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.pipelines.clear(pipeline_ref(body), body.get("workspace_id"))


@route("pipelines/deploy")
class DeployPipeline(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        wait = body.get("wait", True)
        if not isinstance(wait, bool):
            raise web.HTTPError(400, "'wait' must be true or false")
        return await self.engine.pipelines.deploy(pipeline_ref(body), body.get("workspace_id"), wait)


@route("pipelines/undeploy")
class UndeployPipeline(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return await self.engine.pipelines.undeploy(pipeline_ref(body), body.get("workspace_id"))


@route("pipelines/status")
class PipelineStatus(JsonRoute):
    """Answers at once, or with `wait_for` (a status, a list, or "terminal" = settled) once the
    pipeline reaches it."""

    async def handle(self, body: dict[str, Any]) -> Any:
        wait = wait_request(body, SETTLED)
        if wait is None:
            return self.engine.pipelines.status(pipeline_ref(body), body.get("workspace_id"))
        return await self.engine.pipelines.wait_for_status(pipeline_ref(body), body.get("workspace_id"), *wait)
