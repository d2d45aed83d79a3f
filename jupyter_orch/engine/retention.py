"""Deleting, and keeping only what is wanted: orchestrations, tasks and their runs, and what
nothing references any more (blobs, unpacked trees, environments).

- `delete_orchestrations` (the reference's `orchestration/delete_orchestrations`) removes
  orchestrations with their tasks, runs, run logs and fires, then the zip, the unpacked tree
  and the environment once no other orchestration uses them; it answers the bytes freed. An
  orchestration whose tasks are still active is refused (409) unless `confirm_delete`, which
  kills them first.
- `delete_task` removes a finished task (an active one is killed first) with its runs;
  a run goes with its artifacts, whichever way it is removed;
  `delete_model` a model version no pipeline's current version uses, and its file.
- `sweep` (every `every_s` in the background) removes ended runs past `keep_runs_per_task`
  per task or older than `run_retention_days`, with their logs and fires, then blobs, trees
  and environments nothing references that are older than `ORPHAN_GRACE_S` (an upload or a
  packaging in progress holds them before its row says so), and artifacts whose run is gone
  (a removal cut short).

Blobs are adopted and removed under the blob store's lock, so an upload of the same zip can
never lose its file to a concurrent delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Connection, delete, func, or_, select

from ..constants import ORCH_PACKAGING, ORCH_PENDING, RUN_ACTIVE, TASK_ACTIVE, TASK_TERMINAL
from .errors import Conflict, NotFound
from .orchestrations.blobs import BlobStore
from .orchestrations.orchestrations import Orchestrations
from .pipelines.onnx_models import Models
from .store import schema as t
from .store.database import Store
from .tasks.artifacts import Artifacts
from .tasks.records import RUN_ORDER
from .tasks.tasks import Tasks
from .timeutil import utcnow

ORPHAN_GRACE_S = 3600.0
KILL_WAIT_S = 30.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionSettings:
    keep_runs_per_task: int | None = None  # None: keep every run
    run_retention_days: float | None = None  # None: keep runs however old
    every_s: float = 3600.0


@dataclass
class Swept:
    runs: int = 0
    bytes: int = 0


class Retention:
    def __init__(self, store: Store, blobs: BlobStore, orchestrations: Orchestrations, tasks: Tasks,
                 models: Models, artifacts: Artifacts, settings: RetentionSettings):
        self.store = store
        self.blobs = blobs
        self.orchestrations = orchestrations
        self.models = models
        self.tasks = tasks
        self.artifacts = artifacts
        self.settings = settings
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop().create_task(self._every())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    async def delete_orchestrations(self, ids: Iterable[str], confirm: bool) -> int:
        """Delete the orchestrations; the bytes freed. Nothing is deleted if one is unknown, or
        (without `confirm`) has an active task."""
        wanted = list(dict.fromkeys(ids))
        tasks = await self.store.call(self._tasks_of, wanted)
        active = [task_id for task_id, status in tasks if status in TASK_ACTIVE]
        if active and not confirm:
            raise Conflict(f"{len(active)} task(s) of these orchestrations are still active; "
                           "kill them first or send \"confirm_delete\": true")
        for task_id in active:
            await self._kill(task_id)
        async with self.blobs.lock:
            shas, run_ids = await self.store.call(
                self._delete_orchestration_rows, wanted, [task_id for task_id, _ in tasks]
            )
            freed = await asyncio.to_thread(self._free, shas, 0.0)
        return freed + await asyncio.to_thread(self.artifacts.remove, run_ids)

    async def delete_model(self, ref: int | str) -> int:
        """Delete a model version no pipeline uses; the bytes freed (its file, if no other
        version has the same one)."""
        model = await self.models.get(ref)
        async with self.blobs.lock:
            await self.store.call(self._delete_model_row, model.id)
            return await asyncio.to_thread(self._free, {model.sha}, 0.0)

    async def delete_task(self, task_id: str) -> None:
        task = await self.tasks.get(task_id, 0)
        if task.status not in TASK_TERMINAL:
            await self._kill(task.id)
        run_ids = await self.store.call(self._delete_task_rows, [task.id])
        await asyncio.to_thread(self.artifacts.remove, run_ids)

    async def sweep(self) -> Swept:
        """Apply the run retention, then remove what nothing references."""
        expired = await self.store.call(self._expired_runs)
        orphans = await self.store.call(self._runs_gone, await asyncio.to_thread(self.artifacts.kept_run_ids))
        freed = await asyncio.to_thread(self.artifacts.remove, expired + orphans)
        async with self.blobs.lock:
            freed += await asyncio.to_thread(self._free, None, ORPHAN_GRACE_S)
        return Swept(len(expired), freed)

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.every_s)
            try:
                swept = await self.sweep()
            except Exception:  # the next round tries again
                log.exception("the retention sweep failed")
                continue
            if swept.runs or swept.bytes:
                log.info("retention: removed %d runs and freed %d bytes", swept.runs, swept.bytes)

    async def _kill(self, task_id: str) -> None:
        await self.tasks.kill(task_id)
        await self.tasks.wait_for(task_id, TASK_TERMINAL, KILL_WAIT_S)

    # --- in the store's pool ------------------------------------------------------------

    def _tasks_of(self, orch_ids: list[str]) -> list[tuple[str, str]]:
        with self.store.read() as db:
            found = set(db.scalars(select(t.orchestrations.c.id).where(t.orchestrations.c.id.in_(orch_ids))))
            missing = [i for i in orch_ids if i not in found]
            if missing:
                raise NotFound(f"orchestration {missing[0]} does not exist")
            query = select(t.tasks.c.id, t.tasks.c.status).where(t.tasks.c.orch_id.in_(orch_ids))
            return [(r.id, r.status) for r in db.execute(query)]

    def _delete_orchestration_rows(self, orch_ids: list[str], task_ids: list[str]) -> tuple[set[str], list[str]]:
        """Their zips' shas and the ids of the runs removed."""
        with self.store.write() as db:
            shas = set(db.scalars(select(t.orchestrations.c.sha).where(t.orchestrations.c.id.in_(orch_ids))))
            run_ids = _delete_tasks(db, task_ids)
            db.execute(delete(t.orchestrations).where(t.orchestrations.c.id.in_(orch_ids)))
        return shas, run_ids

    def _delete_model_row(self, model_id: int) -> None:
        versions = t.pipeline_versions
        latest = select(func.max(versions.c.id)).group_by(versions.c.pipeline_id)
        with self.store.write() as db:
            for steps, name in db.execute(
                select(versions.c.steps, t.pipelines.c.name).join(t.pipelines).where(versions.c.id.in_(latest))
            ):
                if model_id in steps:
                    raise Conflict(f"model version {model_id} is a step of pipeline '{name}'; clear or delete it first")
            db.execute(delete(t.models).where(t.models.c.id == model_id))

    def _delete_task_rows(self, task_ids: list[str]) -> list[str]:
        with self.store.write() as db:
            return _delete_tasks(db, task_ids)

    def _runs_gone(self, run_ids: list[str]) -> list[str]:
        """Those of the runs that no longer exist."""
        existing: set[str] = set()
        with self.store.read() as db:
            for start in range(0, len(run_ids), 500):  # bounded IN lists
                chunk = run_ids[start:start + 500]
                existing.update(db.scalars(select(t.runs.c.id).where(t.runs.c.id.in_(chunk))))
        return [run_id for run_id in run_ids if run_id not in existing]

    def _expired_runs(self) -> list[str]:
        """Remove the runs past retention; their ids."""
        keep, days = self.settings.keep_runs_per_task, self.settings.run_retention_days
        if keep is None and days is None:
            return []
        runs = t.runs
        rank = func.row_number().over(partition_by=runs.c.task_id, order_by=RUN_ORDER).label("n")
        ranked = select(runs.c.id, runs.c.created_at, rank).where(runs.c.status.not_in(RUN_ACTIVE)).subquery()
        conditions = []
        if keep is not None:
            conditions.append(ranked.c.n > keep)
        if days is not None:
            conditions.append(ranked.c.created_at < utcnow() - timedelta(days=days))
        with self.store.write() as db:
            ids = list(db.scalars(select(ranked.c.id).where(or_(*conditions))))
            _delete_runs(db, ids)
        return ids

    def _free(self, shas: set[str] | None, grace_s: float) -> int:
        """Remove the blobs, trees and environments nothing references (of `shas`, or all);
        the bytes freed. Files younger than `grace_s` stay."""
        with self.store.read() as db:
            used_shas = set(db.scalars(select(t.orchestrations.c.sha))) | set(db.scalars(select(t.models.c.sha)))
            orchs = t.orchestrations
            used_envs = set(db.scalars(select(orchs.c.env_key).where(orchs.c.env_key.is_not(None))))
            packaging = bool(db.scalar(select(func.count()).select_from(orchs).where(
                orchs.c.status.in_((ORCH_PENDING, ORCH_PACKAGING)))))
            envs = [(r.key, Path(r.path)) for r in db.execute(select(t.environments.c.key, t.environments.c.path))]
        candidates = shas if shas is not None else _blob_names(self.blobs.root)
        freed = 0
        for sha in candidates - used_shas:
            freed += (_remove(self.blobs.path(sha), grace_s) or 0)
            freed += (_remove(self.orchestrations.unpacked_path(sha), grace_s) or 0)
        if shas is None:
            for tree in self.orchestrations.unpacked_root.glob("[0-9a-f]*"):
                if tree.name not in used_shas:
                    freed += (_remove(tree, grace_s) or 0)
        if not packaging:  # a packaging may be about to take an environment that looks unused
            for key, path in envs:
                if key in used_envs or (removed := _remove(path, grace_s)) is None:
                    continue
                freed += removed
                with self.store.write() as db:
                    db.execute(delete(t.environments).where(t.environments.c.key == key))
        return freed


def _delete_tasks(db: Connection, task_ids: list[str]) -> list[str]:
    """Remove the tasks with their runs; the runs' ids."""
    run_ids = list(db.scalars(select(t.runs.c.id).where(t.runs.c.task_id.in_(task_ids))))
    _delete_runs(db, run_ids)
    db.execute(delete(t.fires).where(t.fires.c.task_id.in_(task_ids)))
    db.execute(delete(t.tasks).where(t.tasks.c.id.in_(task_ids)))
    return run_ids


def _delete_runs(db: Connection, run_ids: list[str]) -> None:
    for start in range(0, len(run_ids), 500):  # bounded IN lists
        chunk = run_ids[start:start + 500]
        db.execute(delete(t.run_logs).where(t.run_logs.c.run_id.in_(chunk)))
        db.execute(delete(t.fires).where(t.fires.c.run_id.in_(chunk)))
        db.execute(delete(t.runs).where(t.runs.c.id.in_(chunk)))


def _blob_names(root: Path) -> set[str]:
    return {p.name for p in root.glob("[0-9a-f][0-9a-f]/*") if p.is_file()}


def _remove(path: Path, grace_s: float) -> int | None:
    """Remove a file or tree older than `grace_s`: its size in bytes, None when it stays."""
    try:
        if time.time() - path.lstat().st_mtime < grace_s:
            return None
    except FileNotFoundError:
        return 0
    size = _size(path)
    if path.is_dir() and not path.is_symlink():
        _writable(path)  # unpacked trees are read-only
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return size


def _size(path: Path) -> int:
    if not path.is_dir():
        return path.lstat().st_size
    return sum(os.lstat(os.path.join(folder, name)).st_size
               for folder, _dirs, files in os.walk(path) for name in files)


def _writable(tree: Path) -> None:
    for folder, _dirs, _files in os.walk(tree):
        os.chmod(folder, 0o700)
