"""Workspaces: named containers with integer ids for orchestrations, models and pipelines."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.sql import ColumnElement

from ..errors import Conflict, NotFound
from ..store import schema as t
from ..store.database import Duplicate, Store
from ..timeutil import utcnow


@dataclass
class Workspace:
    id: int
    name: str
    created_at: datetime
    created_by: str
    archived: bool
    models: list[int] = field(default_factory=list)
    pipelines: list[int] = field(default_factory=list)


class Workspaces:
    def __init__(self, store: Store):
        self.store = store

    async def create(self, name: str, created_by: str) -> Workspace:
        return await self.store.call(self._create, name, created_by)

    async def get(self, workspace_id: int) -> Workspace:
        return await self.store.call(self.get_now, workspace_id)

    async def by_name(self, name: str) -> Workspace:
        return await self.store.call(self._by_name, name)

    async def list(self) -> list[Workspace]:
        return await self.store.call(self._list)

    def get_now(self, workspace_id: int) -> Workspace:
        """`get` for code already running in the store's thread pool."""
        return self._one(t.workspaces.c.id == workspace_id, f"workspace {workspace_id} does not exist")

    def _create(self, name: str, created_by: str) -> Workspace:
        try:
            with self.store.write() as conn:
                new_id = conn.execute(
                    insert(t.workspaces).values(name=name, created_at=utcnow(), created_by=created_by, archived=False)
                ).inserted_primary_key[0]  # type: ignore[index]
        except Duplicate:
            raise Conflict(f"workspace '{name}' already exists") from None
        return self.get_now(new_id)

    def _by_name(self, name: str) -> Workspace:
        return self._one(t.workspaces.c.name == name, f"workspace '{name}' does not exist")

    def _one(self, where: ColumnElement[bool], missing: str) -> Workspace:
        with self.store.read() as conn:
            row = conn.execute(select(t.workspaces).where(where)).first()
            if row is None:
                raise NotFound(missing)
            return _hydrate(conn, [row])[0]

    def _list(self) -> builtins.list[Workspace]:
        with self.store.read() as conn:
            return _hydrate(conn, conn.execute(select(t.workspaces).order_by(t.workspaces.c.id)).all())


def _hydrate(conn: Connection, rows: Sequence[Row[Any]]) -> list[Workspace]:
    ids = [r.id for r in rows]
    owned: dict[tuple[str, int], list[int]] = {}
    for kind, table in (("models", t.models), ("pipelines", t.pipelines)):
        query = select(table.c.workspace_id, table.c.id).where(table.c.workspace_id.in_(ids)).order_by(table.c.id)
        for wid, item in conn.execute(query):
            owned.setdefault((kind, wid), []).append(item)
    return [
        Workspace(
            id=r.id, name=r.name, created_at=r.created_at, created_by=r.created_by, archived=r.archived,
            models=owned.get(("models", r.id), []), pipelines=owned.get(("pipelines", r.id), []),
        )
        for r in rows
    ]
