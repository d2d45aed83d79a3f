"""Routes: workspaces/create, workspaces/list."""

from __future__ import annotations

from typing import Any

from .base import JsonRoute, route


@route("workspaces/create")
class CreateWorkspace(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        workspace = self.engine.workspaces.create(body.get("workspace_name"), self.owner_id)
        return {"workspace_id": workspace.id}


@route("workspaces/list")
class ListWorkspaces(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return {"workspaces": self.engine.workspaces.list()}
