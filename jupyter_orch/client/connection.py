"""Connection: named details (an endpoint, credentials) an orchestration looks up by name."""

from __future__ import annotations

from typing import Any

from .base import Entity
from .display import local_time, masked


class Connection(Entity):
    def name(self) -> str:
        return self._data["name"]

    def connection_type(self) -> str:
        return self._data["type"]

    def details(self) -> dict[str, Any]:
        """The details unmasked, for code that uses them; reprs always mask them."""
        return dict(self._data["details"])

    def workspace_names(self) -> list[str]:
        return list(self._data.get("workspace_names") or [])

    def created_at(self) -> str:
        return self._data["created_at"]

    def add_to_workspace(self, workspace_id: int) -> Connection:
        self._client.add_connection_to_workspace(workspace_id, self.id())
        return self._client.get_connection(self.name())

    def delete_connection(self) -> None:
        """Delete this connection (its name is free again at once)."""
        self._client.delete_connection(self.name())

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name(),
            "connection_type": self.connection_type(),
            "details": masked(self._data["details"]),
            "created_at": local_time(self.created_at()),
            "linked_workspaces": self.workspace_names(),
        }
