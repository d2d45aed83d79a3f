"""Pipelines: named chains of model steps in a workspace, deployed into this process.

Every change of the steps makes a new pipeline version (UUID). Deploying builds one
onnxruntime session per step in a worker thread; inference runs in a thread pool, so the event
loop never waits on a model. A deployed pipeline stays deployed across restarts: `resume`
builds it again on start-up. Status: Undeployed, Starting, Running or Error; each change is
published as a `pipeline` event, and each logged batch as an `inference` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from .blobs import BlobStore
from .errors import Invalid, NotFound
from .events import EventBus
from .frames import Codec
from .inference import Deployment, Step, build_session, check_chain
from .inference_log import InferenceLog, LogPage, Query
from .models import Models, ModelVersion
from .store import Store
from .timeutil import now_iso, utcnow
from .validation import require_dns_name, require_int, require_str
from .workspaces import Workspaces

RUNNING = "Running"
STARTING = "Starting"
ERROR = "Error"
UNDEPLOYED = "Undeployed"
SETTLED = (RUNNING, ERROR, UNDEPLOYED)
START_WAIT_S = 60.0

log = logging.getLogger(__name__)


@dataclass
class PipelineStep:
    model_version_id: int
    name: str
    version: str
    sha: str


@dataclass
class Pipeline:
    id: int
    name: str
    workspace_id: int
    status: str
    deployed: bool
    steps: list[PipelineStep]
    versions: list[str]  # newest first
    created_at: str
    updated_at: str


@dataclass
class InferenceSettings:
    threads: int = 1  # onnxruntime intra-op threads per session
    workers: int = 2  # rows of a large batch are split over this many threads
    chunk_rows: int = 8_192  # smallest chunk worth a thread of its own


def with_check_failures(table: pa.Table) -> pa.Table:
    """The reference platform's alias of `anomaly.count`."""
    if "anomaly.count" not in table.column_names:
        return table
    return table.append_column("check_failures", table.column("anomaly.count"))


class Pipelines:
    def __init__(
        self,
        store: Store,
        models: Models,
        workspaces: Workspaces,
        blobs: BlobStore,
        bus: EventBus,
        inference_log: InferenceLog,
        settings: InferenceSettings,
    ):
        self.store = store
        self.models = models
        self.workspaces = workspaces
        self.blobs = blobs
        self.bus = bus
        self.inference_log = inference_log
        self.settings = settings
        self._running: dict[int, Deployment] = {}
        self._building: dict[int, asyncio.Future[Deployment]] = {}
        self._errors: dict[int, str] = {}
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._resuming: dict[int, asyncio.Task[None]] = {}
        # (name, workspace_id as given) -> pipeline id; cleared when a pipeline is created, as
        # a new one can make a name ambiguous (pipelines are never renamed or deleted)
        self._names: dict[tuple[str, str], int] = {}
        workers = max(settings.workers, 1)
        self._requests = ThreadPoolExecutor(workers * 2, thread_name_prefix="orch-inference")
        self._compute = ThreadPoolExecutor(max(workers - 1, 1), thread_name_prefix="orch-inference-chunk")

    # --- definitions -------------------------------------------------------------------------

    def create(self, name: object, workspace_id: object, definition: object = None) -> Pipeline:
        """Create the pipeline, or return the existing one of that name in the workspace."""
        workspace = self.workspaces.get(workspace_id)
        name = require_dns_name(name, "pipeline_id")
        steps = None if definition is None else self._definition_steps(definition)
        row = self.store.one("SELECT * FROM pipelines WHERE workspace_id = ? AND name = ?", (workspace.id, name))
        if row is None:
            now = now_iso()
            self._names.clear()
            try:
                with self.store.transaction() as conn:
                    cur = conn.execute(
                        "INSERT INTO pipelines (workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                        (workspace.id, name, now, now),
                    )
                    self._add_version(conn, cur.lastrowid, steps or [], now)  # type: ignore[arg-type]
            except sqlite3.IntegrityError:  # created meanwhile by another call
                pass
            return self.get(name, workspace.id)
        if steps is not None:
            self._set_steps(row["id"], steps)
        return self.get(row["id"])

    def list(self, workspace_id: object = None) -> list[Pipeline]:
        if workspace_id is None:
            rows = self.store.all("SELECT * FROM pipelines ORDER BY id")
        else:
            workspace = self.workspaces.get(workspace_id)
            rows = self.store.all("SELECT * FROM pipelines WHERE workspace_id = ? ORDER BY id", (workspace.id,))
        return [self._hydrate(r) for r in rows]

    def get(self, ref: object, workspace_id: object = None) -> Pipeline:
        return self._hydrate(self._row(ref, workspace_id))

    def add_model_step(self, ref: object, model_ref: object, workspace_id: object = None) -> Pipeline:
        row = self._row(ref, workspace_id)
        model = self.models.get(model_ref)
        if model.workspace_id != row["workspace_id"]:
            raise Invalid(
                f"model version {model.id} is in workspace {model.workspace_id}, pipeline "
                f"'{row['name']}' in workspace {row['workspace_id']}; upload the model there"
            )
        self._set_steps(row["id"], [*self._step_ids(row["id"]), model.id])
        return self.get(row["id"])

    def clear(self, ref: object, workspace_id: object = None) -> Pipeline:
        row = self._row(ref, workspace_id)
        self._set_steps(row["id"], [])
        return self.get(row["id"])

    # --- deployment --------------------------------------------------------------------------

    async def deploy(self, ref: object, workspace_id: object = None, wait: bool = True) -> Pipeline:
        """Deploy; with `wait=False` answer as soon as the pipeline is Starting and build it in
        the background (a failure then shows as its Error status)."""
        row = self._row(ref, workspace_id)
        pid = row["id"]
        if wait:
            await self._deploy(pid, row["name"])
            return self.get(pid)
        starting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deploying = self._resuming[pid] = asyncio.ensure_future(self._deploy(pid, row["name"], starting))
        deploying.add_done_callback(lambda done: self._background_deploy_ended(pid, done))
        await asyncio.wait((starting, deploying), return_when=asyncio.FIRST_COMPLETED)
        if deploying.done():
            deploying.result()  # refused (no steps, a broken chain): still the caller's 400
        return self.get(pid)

    def _background_deploy_ended(self, pid: int, done: asyncio.Task[None]) -> None:
        if self._resuming.get(pid) is done:
            del self._resuming[pid]
        if not done.cancelled() and done.exception() is not None:
            log.info("background deployment of pipeline %s failed: %s", pid, done.exception())

    async def undeploy(self, ref: object, workspace_id: object = None) -> Pipeline:
        row = self._row(ref, workspace_id)
        pid = row["id"]
        async with self._locks[pid]:
            self._running.pop(pid, None)
            self._errors.pop(pid, None)
            self.store.execute(
                "UPDATE pipelines SET deployed = 0, updated_at = ? WHERE id = ?", (now_iso(), pid)
            )
        self._publish(pid, row["name"])
        return self.get(pid)

    def status(self, ref: object, workspace_id: object = None) -> dict[str, Any]:
        row = self._row(ref, workspace_id)
        pid = row["id"]
        status = self._status(pid, bool(row["deployed"]))
        details: list[dict[str, Any]] = []
        if status == ERROR:
            details.append({"error": self._errors.get(pid, "")})
        deployment = self._running.get(pid)
        if deployment is not None:
            details += [
                {"model_name": s.model.name, "model_version": s.model.version, "model_sha": s.model.sha,
                 "pipeline_version": deployment.version, "status": RUNNING}
                for s in deployment.steps
            ]
        return {"status": status, "details": details}

    async def wait_for_status(
        self, ref: object, workspace_id: object, statuses: tuple[str, ...], timeout: float
    ) -> dict[str, Any]:
        """The status answer once the pipeline's status is one of `statuses` (or on timeout)."""
        pid = self._row(ref, workspace_id)["id"]
        await self.bus.wait_for("pipeline", pid, statuses, lambda: self.status(pid)["status"], timeout)
        return self.status(pid)

    def resume(self) -> None:
        """Deploy again, in the background, every pipeline that was deployed at the last stop."""
        for row in self.store.all("SELECT id, name FROM pipelines WHERE deployed = 1"):
            pid = row["id"]
            task = asyncio.get_running_loop().create_task(self._resume_one(pid, row["name"]))
            self._resuming[pid] = task
            task.add_done_callback(lambda _, pid=pid: self._resuming.pop(pid, None))

    async def stop(self) -> None:
        for task in list(self._resuming.values()):
            task.cancel()
        self._running.clear()
        await asyncio.to_thread(self._requests.shutdown, True)
        await asyncio.to_thread(self._compute.shutdown, True)

    # --- inference and logs ------------------------------------------------------------------

    async def infer(self, name: object, workspace_id: object, body: bytes, codec: Codec) -> bytes:
        """Decode a frame, run it through the deployed pipeline, log it, answer the result frame."""
        pid, deployment = await self._deployment(name, workspace_id)
        at = utcnow()
        loop = asyncio.get_running_loop()
        answer, rows = await loop.run_in_executor(self._requests, self._infer, pid, deployment, body, codec, at)
        self.bus.publish("inference", pid, pipeline_name=deployment.pipeline_name, rows=rows)
        return answer

    async def logs(
        self, name: object, workspace_id: object, query: Query, codec: Codec
    ) -> tuple[bytes, LogPage]:
        row = self._row(require_str(name, "pipeline_name"), workspace_id)

        def read() -> tuple[bytes, LogPage]:
            page = self.inference_log.query(row["id"], query)
            return codec.encode(with_check_failures(page.table)), page

        return await asyncio.to_thread(read)

    def _infer(
        self, pid: int, deployment: Deployment, body: bytes, codec: Codec, at: datetime
    ) -> tuple[bytes, int]:
        result = deployment.infer(codec.decode(body), at)
        self.inference_log.append(pid, result, deployment.version, deployment.last_model.sha)
        return codec.encode(with_check_failures(result)), result.num_rows

    async def _deployment(self, name: object, workspace_id: object) -> tuple[int, Deployment]:
        key = (require_str(name, "pipeline name"), str(workspace_id))
        pid = self._names.get(key)
        if pid is not None and pid in self._running:  # the hot path: no database look-up
            return pid, self._running[pid]
        row = self._row(key[0], workspace_id)
        pid = self._names[key] = row["id"]
        deployment = self._running.get(pid)
        starting = self._building.get(pid) or self._resuming.get(pid)
        if deployment is None and starting is not None:
            with contextlib.suppress(Exception):  # a failed start is reported below
                await asyncio.wait_for(asyncio.shield(starting), START_WAIT_S)
            deployment = self._running.get(pid)
        if deployment is None:
            raise Invalid(
                f"pipeline '{row['name']}' is not deployed (status {self._status(pid, bool(row['deployed']))}); "
                "deploy it first with pipelines/deploy"
            )
        return pid, deployment

    async def _resume_one(self, pid: int, name: str) -> None:
        try:
            await self._deploy(pid, name)
        except Exception as e:  # shown as the pipeline's Error status
            log.warning("could not redeploy pipeline %s: %s", name, e)
            self._errors.setdefault(pid, str(e))
            self._publish(pid, name)

    async def _deploy(self, pid: int, name: str, starting: asyncio.Future[None] | None = None) -> None:
        """Build and serve the latest version; `starting` is resolved once it is Starting."""
        async with self._locks[pid]:
            version, model_ids = self._latest_version(pid)
            if not model_ids:
                raise Invalid(f"pipeline '{name}' has no steps; add a model step before deploying")
            current = self._running.get(pid)
            if current is not None and current.version == version:
                return
            models = [self.models.get(m) for m in model_ids]
            check_chain(models)
            future = asyncio.ensure_future(asyncio.to_thread(self._build, name, version, models))
            self._building[pid] = future
            self._publish(pid, name)
            if starting is not None:
                starting.set_result(None)
            try:
                deployment = await future
            except Exception as e:
                message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if pid not in self._running:
                    self._errors[pid] = message
                self._publish(pid, name)
                raise Invalid(f"pipeline '{name}' could not be deployed: {message}") from None
            finally:
                self._building.pop(pid, None)
            self.store.execute("UPDATE pipelines SET deployed = 1, updated_at = ? WHERE id = ?", (now_iso(), pid))
            self._running[pid] = deployment
            self._errors.pop(pid, None)
        self._publish(pid, name)

    def _build(self, name: str, version: str, models: list[ModelVersion]) -> Deployment:
        # pyarrow imports pandas on its first conversion of Python objects (about 1 s): pay it
        # here, in the deploying thread, rather than in the first inference request.
        import pandas  # noqa: F401

        steps = [Step(m, build_session(self.blobs.path(m.sha), self.settings.threads)) for m in models]
        return Deployment(
            name, version, steps, self._compute, self.settings.chunk_rows, self.settings.workers
        )

    def _status(self, pid: int, deployed: bool) -> str:
        if pid in self._running:
            return RUNNING
        if pid in self._building or (deployed and pid not in self._errors):
            return STARTING
        if pid in self._errors:
            return ERROR
        return UNDEPLOYED

    def _publish(self, pid: int, name: str) -> None:
        row = self.store.one("SELECT deployed FROM pipelines WHERE id = ?", (pid,))
        self.bus.publish("pipeline", pid, name=name, status=self._status(pid, bool(row and row["deployed"])))

    # --- storage -----------------------------------------------------------------------------

    def _row(self, ref: object, workspace_id: object = None) -> sqlite3.Row:
        """A pipeline by integer id or by name (with `workspace_id` when names repeat)."""
        where, params = ("id = ?", [ref]) if isinstance(ref, int) and not isinstance(ref, bool) else (
            "name = ?", [require_str(ref, "pipeline_id")]
        )
        if workspace_id is not None:
            where += " AND workspace_id = ?"
            params.append(require_int(workspace_id, "workspace_id"))
        rows = self.store.all(f"SELECT * FROM pipelines WHERE {where}", params)
        if not rows:
            scope = f" in workspace {workspace_id}" if workspace_id is not None else ""
            raise NotFound(f"pipeline {ref!r} does not exist{scope}")
        if len(rows) > 1:
            raise Invalid(
                f"pipelines named {ref!r} exist in workspaces {[r['workspace_id'] for r in rows]}; "
                "give 'workspace_id'"
            )
        return rows[0]

    def _latest_version(self, pid: int) -> tuple[str, list[int]]:
        row = self.store.one(
            "SELECT version, steps FROM pipeline_versions WHERE pipeline_id = ? ORDER BY id DESC LIMIT 1", (pid,)
        )
        assert row is not None  # every pipeline is created with a first version
        return row["version"], json.loads(row["steps"])

    def _step_ids(self, pid: int) -> list[int]:
        return self._latest_version(pid)[1]

    def _set_steps(self, pid: int, model_ids: list[int]) -> None:
        if model_ids == self._step_ids(pid):
            return
        now = now_iso()
        with self.store.transaction() as conn:
            self._add_version(conn, pid, model_ids, now)
            conn.execute("UPDATE pipelines SET updated_at = ? WHERE id = ?", (now, pid))

    @staticmethod
    def _add_version(conn: sqlite3.Connection, pid: int, model_ids: list[int], now: str) -> None:
        conn.execute(
            "INSERT INTO pipeline_versions (pipeline_id, version, steps, created_at) VALUES (?, ?, ?, ?)",
            (pid, str(uuid.uuid4()), json.dumps(model_ids), now),
        )

    def _definition_steps(self, definition: object) -> list[int]:
        """Model ids from a definition: {"steps": [{"model_version_id": id} |
        {"ModelInference": {"models": [{"name", "version"?}]}}]}."""
        steps = definition.get("steps") if isinstance(definition, dict) else None
        if not isinstance(steps, list):
            raise Invalid("'definition' must be an object with a 'steps' list")
        ids = []
        for step in steps:
            if isinstance(step, dict) and "model_version_id" in step:
                ids.append(self.models.get(step["model_version_id"]).id)
            elif isinstance(step, dict) and isinstance(step.get("ModelInference"), dict):
                for ref in step["ModelInference"].get("models") or []:
                    if not isinstance(ref, dict):
                        raise Invalid(f"a ModelInference model must be an object with 'name', got {ref!r}")
                    version = ref.get("version")
                    model = self.models.get(version) if version else self.models.latest(ref.get("name"))
                    ids.append(model.id)
            else:
                raise Invalid(f"a definition step must name a 'model_version_id', got {step!r}")
        return ids

    def _hydrate(self, row: sqlite3.Row) -> Pipeline:
        versions = self.store.all(
            "SELECT version, steps FROM pipeline_versions WHERE pipeline_id = ? ORDER BY id DESC", (row["id"],)
        )
        steps = []
        for model_id in json.loads(versions[0]["steps"]):
            model = self.models.get(model_id)
            steps.append(PipelineStep(model.id, model.name, model.version, model.sha))
        return Pipeline(
            id=row["id"],
            name=row["name"],
            workspace_id=row["workspace_id"],
            status=self._status(row["id"], bool(row["deployed"])),
            deployed=bool(row["deployed"]),
            steps=steps,
            versions=[v["version"] for v in versions],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
