"""Routes: workspaces/create, workspaces/list."""

from __future__ import annotations

from typing import Any

from . import requests as r
from .base import JsonRoute


class CreateWorkspace(JsonRoute[r.CreateWorkspace]):
    request_model = r.CreateWorkspace

    async def handle(self, request: r.CreateWorkspace, *args: str) -> Any:
        workspace = await self.engine.workspaces.create(request.workspace_name, self.owner_id)
        return {"workspace_id": workspace.id}


class ListWorkspaces(JsonRoute[r.Body]):
    async def handle(self, request: r.Body, *args: str) -> Any:
        return {"workspaces": await self.engine.workspaces.list()}
