"""Routes: connections/create, get, get_by_id, list, delete, add_to_workspace,
remove_from_workspace.

Answers carry the details unmasked: the caller is authenticated and an orchestration needs
them. Nothing here logs a request body.
"""

from __future__ import annotations

from typing import Any

from . import requests as r
from .base import JsonRoute


class CreateConnection(JsonRoute[r.CreateConnection]):
    request_model = r.CreateConnection

    async def handle(self, request: r.CreateConnection, *args: str) -> Any:
        connection = await self.engine.connections.create(request.name, request.type, request.details)
        return {"id": connection.id}


class GetConnection(JsonRoute[r.ConnectionName]):
    request_model = r.ConnectionName

    async def handle(self, request: r.ConnectionName, *args: str) -> Any:
        return await self.engine.connections.by_name(request.name)


class GetConnectionById(JsonRoute[r.ById]):
    request_model = r.ById

    async def handle(self, request: r.ById, *args: str) -> Any:
        return await self.engine.connections.get(request.id)


class ListConnections(JsonRoute[r.ConnectionList]):
    request_model = r.ConnectionList

    async def handle(self, request: r.ConnectionList, *args: str) -> Any:
        return {"connections": self.page_answer(
            await self.engine.connections.list_page(request.workspace_id, request.page())
        )}


class DeleteConnection(JsonRoute[r.ConnectionName]):
    request_model = r.ConnectionName

    async def handle(self, request: r.ConnectionName, *args: str) -> Any:
        await self.engine.connections.delete(request.name)
        return {}


class AddConnectionToWorkspace(JsonRoute[r.ConnectionInWorkspace]):
    request_model = r.ConnectionInWorkspace

    async def handle(self, request: r.ConnectionInWorkspace, *args: str) -> Any:
        connection = await self.engine.connections.add_to_workspace(request.workspace_id, request.connection_id)
        return {"id": connection.id}


class RemoveConnectionFromWorkspace(JsonRoute[r.ConnectionInWorkspace]):
    request_model = r.ConnectionInWorkspace

    async def handle(self, request: r.ConnectionInWorkspace, *args: str) -> Any:
        await self.engine.connections.remove_from_workspace(request.workspace_id, request.connection_id)
        return {}
