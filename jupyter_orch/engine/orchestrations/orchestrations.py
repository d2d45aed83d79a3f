"""Orchestrations: an uploaded zip, stored by sha256, packaged into a runnable environment.

Status: pending_packaging -> packaging -> ready | error. Packaging runs in the background;
an orchestration interrupted by a restart is packaged again on the next start.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert, select, update

from ...constants import ORCH_ERROR as ERROR
from ...constants import ORCH_PACKAGING as PACKAGING
from ...constants import ORCH_PENDING as PENDING
from ...constants import ORCH_READY as READY
from ...constants import ORCH_TERMINAL as TERMINAL
from ..errors import NotFound
from ..events.bus import EventBus
from ..paging import Page, PageRequest, page_of, paged
from ..store import schema as t
from ..store.database import Store
from ..timeutil import utcnow
from ..uploads import Upload, spool_bytes
from ..workspaces.workspaces import Workspaces
from .blobs import BlobStore
from .environments import EnvironmentBuildFailed, Environments
from .zips import ZipLimits, inspect_zip, unpack

__all__ = ["ERROR", "PACKAGING", "PENDING", "READY", "TERMINAL", "Orchestration", "Orchestrations"]


@dataclass
class Orchestration:
    id: str
    workspace_id: int
    sha: str
    name: str | None
    file_name: str
    file_size: int
    task_id: str
    owner_id: str
    status: str
    entrypoint: str
    requirements: str
    env_key: str | None
    packaging_log: str
    error: str | None
    created_at: datetime
    updated_at: datetime


class Orchestrations:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        environments: Environments,
        workspaces: Workspaces,
        bus: EventBus,
        unpacked_root: Path,
        limits: ZipLimits,
        engine_id: str,
    ):
        self.store = store
        self.engine_id = engine_id  # the engine that packages an orchestration is named on its row
        self.blobs = blobs
        self.environments = environments
        self.workspaces = workspaces
        self.bus = bus
        self.unpacked_root = unpacked_root
        self.limits = limits
        self._packaging: set[asyncio.Task[None]] = set()

    async def upload(
        self, workspace_id: int, data: bytes | Upload, file_name: str | None, name: str | None, owner_id: str,
        entrypoint: str | None = None,
    ) -> Orchestration:
        """Store a zip (bytes, or an upload spooled to disk, which this takes over) and start
        packaging it; `entrypoint` names the member to run (default: main.py, else main.ipynb)."""
        upload = data if isinstance(data, Upload) else await asyncio.to_thread(spool_bytes, self.blobs.incoming, data)
        try:
            workspace = await self.workspaces.get(workspace_id)
            manifest = await asyncio.to_thread(inspect_zip, upload.path, self.limits, entrypoint)
            orch_id, now = str(uuid.uuid4()), utcnow()
            row = dict(
                id=orch_id, workspace_id=workspace.id, sha=upload.sha, name=name or None,
                file_name=file_name or f"{name or 'orchestration'}.zip", file_size=upload.size,
                task_id=str(uuid.uuid4()), owner_id=owner_id, status=PENDING, entrypoint=manifest.entrypoint,
                requirements=manifest.requirements, env_key=None, packaging_log="", error=None,
                created_at=now, updated_at=now, engine_id=self.engine_id,
            )
            async with self.blobs.lock:
                await asyncio.to_thread(self.blobs.adopt, upload)
                await self.store.call(self._insert, row)
        finally:
            upload.discard()  # gone already once adopted
        self._announce(orch_id, PENDING, workspace.id)
        self.start_packaging(orch_id)
        return await self.get(orch_id)

    def _insert(self, row: dict[str, Any]) -> None:
        with self.store.write() as db:
            db.execute(insert(t.orchestrations).values(**row))

    def start_packaging(self, orch_id: str) -> None:
        job = asyncio.get_running_loop().create_task(self._package(orch_id))
        self._packaging.add(job)
        job.add_done_callback(self._packaging.discard)

    async def _package(self, orch_id: str) -> None:
        orch = await self.get(orch_id)
        await self._set(orch_id, status=PACKAGING, packaging_log="", error=None, engine_id=self.engine_id)
        log: list[str] = []

        def progress(line: str) -> None:
            log.append(line)
            self.bus.publish("orchestration", orch_id, status=PACKAGING, line=line,
                             workspace_id=orch.workspace_id)

        try:
            await asyncio.to_thread(unpack, self.blobs.path(orch.sha), self.unpacked_path(orch.sha))
            env = await self.environments.ensure(orch.requirements, progress)
        except EnvironmentBuildFailed as failure:
            await self._set(orch_id, status=ERROR, packaging_log="".join(log) or failure.log,
                            error="installing requirements.txt failed; see packaging_log")
            self._announce(orch_id, ERROR, orch.workspace_id)
            return
        except Exception as e:  # a packaging failure must end in `error`, never hang in `packaging`
            await self._set(orch_id, status=ERROR, packaging_log="".join(log), error=f"packaging failed: {e}")
            self._announce(orch_id, ERROR, orch.workspace_id)
            return
        if not log:
            log.append(env.log)
        await self._set(orch_id, status=READY, env_key=env.key, packaging_log="".join(log))
        self._announce(orch_id, READY, orch.workspace_id)

    async def _set(self, orch_id: str, **fields: Any) -> None:
        await self.store.call(self._update, orch_id, {**fields, "updated_at": utcnow()})

    def _update(self, orch_id: str, fields: dict[str, Any]) -> None:
        with self.store.write() as db:
            db.execute(update(t.orchestrations).where(t.orchestrations.c.id == orch_id).values(**fields))

    def _announce(self, orch_id: str, status: str, workspace_id: int) -> None:
        self.bus.publish("orchestration", orch_id, status=status, workspace_id=workspace_id)

    def unpacked_path(self, sha: str) -> Path:
        return self.unpacked_root / sha

    async def unpack_here(self, sha: str) -> Path:
        """The tree of an orchestration another engine packaged, unpacked in this data dir from
        its blob (the shared blob store has it)."""
        target = self.unpacked_path(sha)
        data = await asyncio.to_thread(self.blobs.read, sha)
        await asyncio.to_thread(unpack, data, target)
        return target

    async def resume_interrupted(self) -> int:
        """Package again what an engine that is gone left packaging (a live engine's, never)."""
        ids = await self.store.call(self._interrupted)
        for orch_id in ids:
            self.start_packaging(orch_id)
        return len(ids)

    def _interrupted(self) -> list[str]:
        orchs = t.orchestrations
        gone = orchs.c.engine_id.is_(None) | orchs.c.engine_id.not_in(select(t.engines.c.id))
        query = select(orchs.c.id).where(orchs.c.status.in_((PENDING, PACKAGING)), gone)
        with self.store.write() as db:  # taken over in the same transaction: no two engines take one
            ids = list(db.scalars(query.order_by(orchs.c.created_at).with_for_update(skip_locked=True)))
            if ids:
                db.execute(update(orchs).where(orchs.c.id.in_(ids)).values(engine_id=self.engine_id))
        return ids

    async def stop(self) -> None:
        """Abandon packaging in progress; it is packaged again on the next start."""
        jobs = list(self._packaging)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    async def get(self, orch_id: str) -> Orchestration:
        return await self.store.call(self.get_now, orch_id)

    def get_now(self, orch_id: str) -> Orchestration:
        """`get` for code already running in the store's thread pool."""
        with self.store.read() as db:
            row = db.execute(select(t.orchestrations).where(t.orchestrations.c.id == orch_id)).first()
        if row is None:
            raise NotFound(f"orchestration {orch_id} does not exist")
        return _hydrate(row)

    async def list(self, workspace_id: int | None = None) -> list[Orchestration]:
        return await self.store.call(self._list, workspace_id)

    def _list(self, workspace_id: int | None) -> builtins.list[Orchestration]:
        with self.store.read() as db:
            return [_hydrate(r) for r in db.execute(self._in(workspace_id).order_by(t.orchestrations.c.created_at))]

    async def list_page(self, workspace_id: int | None, page: PageRequest) -> Page[Orchestration]:
        """A page of `list`, oldest first."""
        return await self.store.call(self._list_page, workspace_id, page)

    def _list_page(self, workspace_id: int | None, page: PageRequest) -> Page[Orchestration]:
        with self.store.read() as db:
            rows = db.execute(paged(self._in(workspace_id), ORCH_KEYS, page)).all()
        return page_of(rows, ORCH_KEYS, page, _hydrate)

    def _in(self, workspace_id: int | None) -> Any:
        query = select(t.orchestrations)
        if workspace_id is not None:
            query = query.where(t.orchestrations.c.workspace_id == self.workspaces.get_now(workspace_id).id)
        return query

    async def wait_for(self, orch_id: str, statuses: tuple[str, ...], timeout: float) -> Orchestration:
        orch = await self.get(orch_id)

        async def status() -> str:
            return (await self.get(orch.id)).status

        await self.bus.wait_for("orchestration", orch.id, statuses, status, timeout)
        return await self.get(orch.id)


ORCH_KEYS = ((t.orchestrations.c.created_at, False), (t.orchestrations.c.id, False))


def _hydrate(row: Row[Any]) -> Orchestration:
    fields = row._asdict()
    fields.pop("engine_id", None)  # which engine packages it is the engines' business only
    return Orchestration(**fields)
