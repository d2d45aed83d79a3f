"""Workspace: the container of orchestrations, models, pipelines and linked connections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Entity, Listing
from .display import local_time

if TYPE_CHECKING:
    from .connection import Connection
    from .pipeline import Pipeline


class Workspace(Entity):
    def name(self) -> str:
        return self._data["name"]

    def created_at(self) -> str:
        return self._data["created_at"]

    def created_by(self) -> str:
        return self._data["created_by"]

    def archived(self) -> bool:
        return bool(self._data.get("archived"))

    def pipelines(self) -> Listing[Pipeline]:
        return self._client._pipelines(self.id())

    def add_connection(self, connection_name: str) -> None:
        connection = self._client.get_connection(connection_name)
        self._client.add_connection_to_workspace(self.id(), connection.id())

    def remove_connection(self, connection_name: str) -> None:
        connection = self._client.get_connection(connection_name)
        self._client.remove_connection_from_workspace(self.id(), connection.id())

    def list_connections(self) -> Listing[Connection]:
        return self._client._connections(self.id())

    def _fields(self) -> dict[str, Any]:
        return {
            "id": self.id(),
            "name": self.name(),
            "created_at": local_time(self.created_at()),
            "created_by": self.created_by(),
            "archived": self.archived(),
            "models": len(self._data.get("models") or []),
            "pipelines": len(self._data.get("pipelines") or []),
        }
