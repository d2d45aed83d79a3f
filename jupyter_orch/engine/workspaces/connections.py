"""Connections: named, typed details (URLs, credentials) that orchestrations look up by name.

Details are sealed at rest (`secrets.SecretBox`) and returned to the authorized API caller;
they are never logged. A connection may be attached to any number of workspaces. Rows written
in clear text by release 0.1.0 are sealed on start (`seal_clear_rows`).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as Db
from sqlalchemy import Row, delete, insert, select, update

from ..errors import Conflict, NotFound
from ..paging import Page, PageRequest, page_of, paged
from ..store import schema as t
from ..store.database import Duplicate, Store
from ..timeutil import utcnow
from .secrets import SecretBox
from .workspaces import Workspaces

CONNECTION_KEYS = ((t.connections.c.created_at, False), (t.connections.c.id, False))  # paging: oldest first


@dataclass
class Connection:
    id: str
    name: str
    type: str
    details: dict[str, Any]
    created_at: datetime
    workspace_names: list[str] = field(default_factory=list)


class Connections:
    def __init__(self, store: Store, workspaces: Workspaces, box: SecretBox):
        self.store = store
        self.workspaces = workspaces
        self.box = box

    def seal_clear_rows(self) -> int:
        """Seal the details of rows that hold them in clear text; return how many."""
        conns = t.connections
        with self.store.write() as db:
            clear = db.execute(select(conns.c.id, conns.c.details).where(conns.c.sealed_details.is_(None))).all()
            for row in clear:
                db.execute(update(conns).where(conns.c.id == row.id)
                           .values(sealed_details=self.box.seal(row.details), details={}))
        return len(clear)

    async def create(self, name: str, type: str, details: dict[str, Any]) -> Connection:
        return await self.store.call(self._create, name, type, details)

    async def get(self, connection_id: str) -> Connection:
        return await self.store.call(self._get, connection_id)

    async def by_name(self, name: str) -> Connection:
        return await self.store.call(self._by_name, name)

    async def list(self, workspace_id: int | None = None) -> list[Connection]:
        return await self.store.call(self._list, workspace_id)

    async def delete(self, name: str) -> None:
        await self.store.call(self._delete, name)

    async def add_to_workspace(self, workspace_id: int, connection_id: str) -> Connection:
        return await self.store.call(self._link, workspace_id, connection_id, True)

    async def remove_from_workspace(self, workspace_id: int, connection_id: str) -> None:
        await self.store.call(self._link, workspace_id, connection_id, False)

    def _create(self, name: str, type: str, details: dict[str, Any]) -> Connection:
        connection_id = str(uuid.uuid4())
        try:
            with self.store.write() as db:
                db.execute(insert(t.connections).values(
                    id=connection_id, name=name, type=type, details={}, sealed_details=self.box.seal(details),
                    created_at=utcnow(),
                ))
        except Duplicate:
            raise Conflict(f"connection '{name}' already exists") from None
        return self._get(connection_id)

    def _get(self, connection_id: str) -> Connection:
        with self.store.read() as db:
            return self._one(db, t.connections.c.id == connection_id, f"connection {connection_id} does not exist")

    def _by_name(self, name: str) -> Connection:
        with self.store.read() as db:
            return self._one(db, t.connections.c.name == name, f"connection '{name}' does not exist")

    def _list(self, workspace_id: int | None) -> builtins.list[Connection]:
        query = self._in(workspace_id).order_by(t.connections.c.created_at, t.connections.c.name)
        with self.store.read() as db:
            return self._hydrate(db, db.execute(query).all())

    async def list_page(self, workspace_id: int | None, page: PageRequest) -> Page[Connection]:
        """A page of `list`, oldest first."""
        return await self.store.call(self._list_page, workspace_id, page)

    def _list_page(self, workspace_id: int | None, page: PageRequest) -> Page[Connection]:
        with self.store.read() as db:
            rows = page_of(db.execute(paged(self._in(workspace_id), CONNECTION_KEYS, page)).all(),
                           CONNECTION_KEYS, page, lambda row: row)
            return Page(self._hydrate(db, rows.items), rows.cursor)

    def _in(self, workspace_id: int | None) -> Any:
        query = select(t.connections)
        if workspace_id is not None:
            wid = self.workspaces.get_now(workspace_id).id
            query = query.join(t.connection_workspaces).where(t.connection_workspaces.c.workspace_id == wid)
        return query

    def _delete(self, name: str) -> None:
        connection = self._by_name(name)
        with self.store.write() as db:
            links = t.connection_workspaces
            db.execute(delete(links).where(links.c.connection_id == connection.id))
            db.execute(delete(t.connections).where(t.connections.c.id == connection.id))

    def _link(self, workspace_id: int, connection_id: str, linked: bool) -> Connection:
        workspace = self.workspaces.get_now(workspace_id)
        connection = self._get(connection_id)
        links = t.connection_workspaces
        with self.store.write() as db:
            db.execute(delete(links).where(links.c.connection_id == connection.id,
                                           links.c.workspace_id == workspace.id))
            if linked:
                db.execute(insert(links).values(connection_id=connection.id, workspace_id=workspace.id))
        return self._get(connection.id)

    def _one(self, db: Db, where: Any, missing: str) -> Connection:
        row = db.execute(select(t.connections).where(where)).first()
        if row is None:
            raise NotFound(missing)
        return self._hydrate(db, [row])[0]

    def _hydrate(self, db: Db, rows: Sequence[Row[Any]]) -> builtins.list[Connection]:
        links = t.connection_workspaces
        names: dict[str, builtins.list[str]] = {}
        query = (
            select(links.c.connection_id, t.workspaces.c.name)
            .join(t.workspaces, t.workspaces.c.id == links.c.workspace_id)
            .where(links.c.connection_id.in_([r.id for r in rows]))
            .order_by(t.workspaces.c.name)
        )
        for connection_id, workspace_name in db.execute(query):
            names.setdefault(connection_id, []).append(workspace_name)
        return [
            Connection(id=r.id, name=r.name, type=r.type, details=self.box.open(r.sealed_details),
                       created_at=r.created_at, workspace_names=names.get(r.id, []))
            for r in rows
        ]
