"""Workspaces: named containers with integer ids for orchestrations, models and pipelines."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..errors import Conflict, NotFound
from ..store.database import Store
from ..timeutil import now_iso
from ..validation import require_dns_name, require_int


@dataclass
class Workspace:
    id: int
    name: str
    created_at: str
    created_by: str
    archived: bool
    models: list[int] = field(default_factory=list)
    pipelines: list[int] = field(default_factory=list)


class Workspaces:
    def __init__(self, store: Store):
        self.store = store

    def create(self, name: object, created_by: str) -> Workspace:
        name = require_dns_name(name, "workspace_name")
        try:
            cur = self.store.execute(
                "INSERT INTO workspaces (name, created_at, created_by) VALUES (?, ?, ?)",
                (name, now_iso(), created_by),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"workspace '{name}' already exists") from None
        return self.get(cur.lastrowid)

    def get(self, workspace_id: object) -> Workspace:
        wid = require_int(workspace_id, "workspace_id")
        row = self.store.one("SELECT * FROM workspaces WHERE id = ?", (wid,))
        if row is None:
            raise NotFound(f"workspace {wid} does not exist")
        return self._hydrate(row)

    def by_name(self, name: str) -> Workspace:
        row = self.store.one("SELECT * FROM workspaces WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"workspace '{name}' does not exist")
        return self._hydrate(row)

    def list(self) -> list[Workspace]:
        return [self._hydrate(r) for r in self.store.all("SELECT * FROM workspaces ORDER BY id")]

    def _hydrate(self, row: sqlite3.Row) -> Workspace:
        models = [
            r[0] for r in self.store.all("SELECT id FROM models WHERE workspace_id = ?", (row["id"],))
        ]
        pipelines = [
            r[0]
            for r in self.store.all("SELECT id FROM pipelines WHERE workspace_id = ?", (row["id"],))
        ]
        return Workspace(
            id=row["id"],
            name=row["name"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            archived=bool(row["archived"]),
            models=models,
            pipelines=pipelines,
        )
