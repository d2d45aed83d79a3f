"""Routes: connections/create, get, get_by_id, list, delete, add_to_workspace,
remove_from_workspace.

Answers carry the details unmasked: the caller is authenticated and an orchestration needs
them. Nothing here logs a request body.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from .base import JsonRoute, route


def _required(body: dict[str, Any], *fields: str) -> list[Any]:
    missing = [f for f in fields if f not in body]
    if missing:
        raise web.HTTPError(400, "missing field(s): " + ", ".join(f"'{f}'" for f in missing))
    return [body[f] for f in fields]


@route("connections/create")
class CreateConnection(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        name, type, details = _required(body, "name", "type", "details")
        return {"id": self.engine.connections.create(name, type, details).id}


@route("connections/get")
class GetConnection(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.connections.by_name(*_required(body, "name"))


@route("connections/get_by_id")
class GetConnectionById(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.connections.get(*_required(body, "id"))


@route("connections/list")
class ListConnections(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return {"connections": self.engine.connections.list(body.get("workspace_id"))}


@route("connections/delete")
class DeleteConnection(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        self.engine.connections.delete(*_required(body, "name"))
        return {}


@route("connections/add_to_workspace")
class AddConnectionToWorkspace(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        workspace_id, connection_id = _required(body, "workspace_id", "connection_id")
        return {"id": self.engine.connections.add_to_workspace(workspace_id, connection_id).id}


@route("connections/remove_from_workspace")
class RemoveConnectionFromWorkspace(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        workspace_id, connection_id = _required(body, "workspace_id", "connection_id")
        self.engine.connections.remove_from_workspace(workspace_id, connection_id)
        return {}
