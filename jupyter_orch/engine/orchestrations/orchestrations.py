"""Orchestrations: an uploaded zip, stored by sha256, packaged into a runnable environment.

Status: pending_packaging -> packaging -> ready | error. Packaging runs in the background;
an orchestration interrupted by a restart is packaged again on the next start.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import Invalid, NotFound
from ..events.bus import EventBus
from ..store.database import Store
from ..timeutil import now_iso
from ..validation import require_uuid
from ..workspaces.workspaces import Workspaces
from .blobs import BlobStore
from .environments import EnvironmentBuildFailed, Environments
from .zips import ZipLimits, inspect_zip, unpack

PENDING = "pending_packaging"
PACKAGING = "packaging"
READY = "ready"
ERROR = "error"
TERMINAL = (READY, ERROR)


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
    created_at: str
    updated_at: str


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
    ):
        self.store = store
        self.blobs = blobs
        self.environments = environments
        self.workspaces = workspaces
        self.bus = bus
        self.unpacked_root = unpacked_root
        self.limits = limits
        self._packaging: set[asyncio.Task[None]] = set()

    async def upload(
        self, workspace_id: object, data: bytes, file_name: str | None, name: object, owner_id: str
    ) -> Orchestration:
        workspace = self.workspaces.get(workspace_id)
        if name is not None and not isinstance(name, str):
            raise Invalid("'name' must be a string")
        manifest = await asyncio.to_thread(inspect_zip, data, self.limits)
        sha = await asyncio.to_thread(self.blobs.put, data)
        orch_id, now = str(uuid.uuid4()), now_iso()
        self.store.execute(
            "INSERT INTO orchestrations (id, workspace_id, sha, name, file_name, file_size, task_id,"
            " owner_id, status, entrypoint, requirements, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (orch_id, workspace.id, sha, name or None, file_name or f"{name or 'orchestration'}.zip",
             len(data), str(uuid.uuid4()), owner_id, PENDING, manifest.entrypoint,
             manifest.requirements, now, now),
        )
        self._announce(orch_id, PENDING, workspace.id)
        self.start_packaging(orch_id)
        return self.get(orch_id)

    def start_packaging(self, orch_id: str) -> None:
        job = asyncio.get_running_loop().create_task(self._package(orch_id))
        self._packaging.add(job)
        job.add_done_callback(self._packaging.discard)

    async def _package(self, orch_id: str) -> None:
        orch = self.get(orch_id)
        self._set(orch_id, status=PACKAGING, packaging_log="", error=None)
        log: list[str] = []

        def progress(line: str) -> None:
            log.append(line)
            self.bus.publish("orchestration", orch_id, status=PACKAGING, line=line,
                             workspace_id=orch.workspace_id)

        try:
            data = await asyncio.to_thread(self.blobs.read, orch.sha)
            await asyncio.to_thread(unpack, data, self.unpacked_path(orch.sha))
            env = await self.environments.ensure(orch.requirements, progress)
        except EnvironmentBuildFailed as failure:
            self._set(orch_id, status=ERROR, packaging_log="".join(log) or failure.log,
                      error="installing requirements.txt failed; see packaging_log")
            self._announce(orch_id, ERROR, orch.workspace_id)
            return
        except Exception as e:  # a packaging failure must end in `error`, never hang in `packaging`
            self._set(orch_id, status=ERROR, packaging_log="".join(log), error=f"packaging failed: {e}")
            self._announce(orch_id, ERROR, orch.workspace_id)
            return
        if not log:
            log.append(env.log)
        self._set(orch_id, status=READY, env_key=env.key, packaging_log="".join(log))
        self._announce(orch_id, READY, orch.workspace_id)

    def _set(self, orch_id: str, **fields: object) -> None:
        fields["updated_at"] = now_iso()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self.store.execute(
            f"UPDATE orchestrations SET {assignments} WHERE id = ?", (*fields.values(), orch_id)
        )

    def _announce(self, orch_id: str, status: str, workspace_id: int) -> None:
        self.bus.publish("orchestration", orch_id, status=status, workspace_id=workspace_id)

    def unpacked_path(self, sha: str) -> Path:
        return self.unpacked_root / sha

    def resume_interrupted(self) -> int:
        rows = self.store.all(
            "SELECT id FROM orchestrations WHERE status IN (?, ?) ORDER BY created_at",
            (PENDING, PACKAGING),
        )
        for row in rows:
            self.start_packaging(row["id"])
        return len(rows)

    async def stop(self) -> None:
        """Abandon packaging in progress; it is packaged again on the next start."""
        jobs = list(self._packaging)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    def get(self, orch_id: object) -> Orchestration:
        oid = require_uuid(orch_id, "id")
        row = self.store.one("SELECT * FROM orchestrations WHERE id = ?", (oid,))
        if row is None:
            raise NotFound(f"orchestration {oid} does not exist")
        return _hydrate(row)

    def list(self, workspace_id: object | None = None) -> list[Orchestration]:
        if workspace_id is None:
            rows = self.store.all("SELECT * FROM orchestrations ORDER BY created_at")
        else:
            wid = self.workspaces.get(workspace_id).id
            rows = self.store.all(
                "SELECT * FROM orchestrations WHERE workspace_id = ? ORDER BY created_at", (wid,)
            )
        return [_hydrate(r) for r in rows]

    async def wait_for(self, orch_id: object, statuses: tuple[str, ...], timeout: float) -> Orchestration:
        orch = self.get(orch_id)
        await self.bus.wait_for(
            "orchestration", orch.id, statuses, lambda: self.get(orch.id).status, timeout
        )
        return self.get(orch.id)


def _hydrate(row: sqlite3.Row) -> Orchestration:
    return Orchestration(**{k: row[k] for k in row.keys()})  # noqa: SIM118
