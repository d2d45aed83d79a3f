"""Connections: named, typed details (URLs, credentials) that orchestrations look up by name.

Details are stored as given and returned to the authenticated API caller; they are never
logged. A connection may be attached to any number of workspaces.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import Conflict, Invalid, NotFound
from ..store.database import Store
from ..timeutil import now_iso
from ..validation import require_str, require_uuid
from .workspaces import Workspaces


@dataclass
class Connection:
    id: str
    name: str
    type: str
    details: dict[str, Any]
    created_at: str
    workspace_names: list[str] = field(default_factory=list)


class Connections:
    def __init__(self, store: Store, workspaces: Workspaces):
        self.store = store
        self.workspaces = workspaces

    def create(self, name: object, type: object, details: object) -> Connection:
        name = require_str(name, "name")
        type = require_str(type, "type")
        if not isinstance(details, dict):
            raise Invalid("'details' must be a JSON object")
        connection_id = str(uuid.uuid4())
        try:
            self.store.execute(
                "INSERT INTO connections (id, name, type, details, created_at) VALUES (?, ?, ?, ?, ?)",
                (connection_id, name, type, json.dumps(details), now_iso()),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"connection '{name}' already exists") from None
        return self.get(connection_id)

    def get(self, connection_id: object) -> Connection:
        cid = require_uuid(connection_id, "id")
        row = self.store.one("SELECT * FROM connections WHERE id = ?", (cid,))
        if row is None:
            raise NotFound(f"connection {cid} does not exist")
        return self._hydrate(row)

    def by_name(self, name: object) -> Connection:
        name = require_str(name, "name")
        row = self.store.one("SELECT * FROM connections WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"connection '{name}' does not exist")
        return self._hydrate(row)

    def list(self, workspace_id: object | None = None) -> list[Connection]:
        if workspace_id is None:
            rows = self.store.all("SELECT * FROM connections ORDER BY created_at, name")
        else:
            wid = self.workspaces.get(workspace_id).id
            rows = self.store.all(
                "SELECT c.* FROM connections c JOIN connection_workspaces cw ON cw.connection_id = c.id"
                " WHERE cw.workspace_id = ? ORDER BY c.created_at, c.name",
                (wid,),
            )
        return [self._hydrate(r) for r in rows]

    def delete(self, name: object) -> None:
        connection = self.by_name(name)
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM connection_workspaces WHERE connection_id = ?", (connection.id,))
            conn.execute("DELETE FROM connections WHERE id = ?", (connection.id,))

    def add_to_workspace(self, workspace_id: object, connection_id: object) -> Connection:
        workspace = self.workspaces.get(workspace_id)
        connection = self.get(connection_id)
        self.store.execute(
            "INSERT OR IGNORE INTO connection_workspaces (connection_id, workspace_id) VALUES (?, ?)",
            (connection.id, workspace.id),
        )
        return self.get(connection.id)

    def remove_from_workspace(self, workspace_id: object, connection_id: object) -> None:
        workspace = self.workspaces.get(workspace_id)
        connection = self.get(connection_id)
        self.store.execute(
            "DELETE FROM connection_workspaces WHERE connection_id = ? AND workspace_id = ?",
            (connection.id, workspace.id),
        )

    def _hydrate(self, row: sqlite3.Row) -> Connection:
        names = self.store.all(
            "SELECT w.name FROM workspaces w JOIN connection_workspaces cw ON cw.workspace_id = w.id"
            " WHERE cw.connection_id = ? ORDER BY w.name",
            (row["id"],),
        )
        return Connection(
            id=row["id"],
            name=row["name"],
            type=row["type"],
            details=json.loads(row["details"]),
            created_at=row["created_at"],
            workspace_names=[r[0] for r in names],
        )
