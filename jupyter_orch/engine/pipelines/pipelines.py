"""Pipelines: named chains of model steps in a workspace, deployed into this process.

Every change of the steps makes a new pipeline version (UUID). Deploying builds one
onnxruntime session per step in a worker thread; inference runs in a thread pool, so the event
loop never waits on a model. A deployed pipeline stays deployed across restarts: `resume`
builds it again on start-up. Deployment is desired state in the database: with several engines
on one database, each builds its own sessions of what is deployed (on the other engines' events,
or on its first request for the pipeline), so every engine answers `infer`.

Status: Undeployed, Starting, Running or Error; each change is published as a `pipeline`
event, and each logged batch as an `inference` event.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Row, delete, insert, select, update

from ...constants import PIPELINE_DELETED as DELETED
from ...constants import PIPELINE_ERROR as ERROR
from ...constants import PIPELINE_RUNNING as RUNNING
from ...constants import PIPELINE_SETTLED as SETTLED
from ...constants import PIPELINE_STARTING as STARTING
from ...constants import PIPELINE_UNDEPLOYED as UNDEPLOYED
from ..errors import Invalid, NotFound
from ..events.bus import Event, EventBus
from ..orchestrations.blobs import BlobStore
from ..store import schema as t
from ..store.database import Duplicate, Store
from ..timeutil import utcnow
from ..workspaces.workspaces import Workspaces
from .frames import Body, Codec
from .inference import Deployment, Step, build_session, check_chain
from .inference_events import InferenceEvents
from .inference_log import InferenceLog, LogPage, Query
from .onnx_models import Models, ModelVersion

START_WAIT_S = 60.0
PipelineRef = int | str  # an integer id, or a name (with a workspace id where names repeat)

__all__ = ["ERROR", "RUNNING", "SETTLED", "STARTING", "UNDEPLOYED", "InferenceSettings", "Pipeline", "Pipelines"]

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
    created_at: datetime
    updated_at: datetime


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
        self.inference_events = InferenceEvents(bus)
        self.inference_log = inference_log
        self.settings = settings
        self._running: dict[int, Deployment] = {}
        self._building: dict[int, asyncio.Future[Deployment]] = {}
        self._errors: dict[int, str] = {}
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._resuming: dict[int, asyncio.Task[None]] = {}
        self._followers: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        # (name, workspace_id as given) -> pipeline id; cleared when a pipeline is created, as
        # a new one can make a name ambiguous (pipelines are never renamed or deleted)
        self._names: dict[tuple[PipelineRef, int | None], int] = {}
        workers = max(settings.workers, 1)
        self._requests = ThreadPoolExecutor(workers * 2, thread_name_prefix="orch-inference")
        self._compute = ThreadPoolExecutor(max(workers - 1, 1), thread_name_prefix="orch-inference-chunk")

    # --- definitions -------------------------------------------------------------------------

    async def create(self, name: str, workspace_id: int, definition: dict[str, Any] | None = None) -> Pipeline:
        """Create the pipeline, or return the existing one of that name in the workspace."""
        return await self.store.call(self._create, name, workspace_id, definition)

    async def list(self, workspace_id: int | None = None) -> list[Pipeline]:
        return await self.store.call(self._list, workspace_id)

    async def get(self, ref: PipelineRef, workspace_id: int | None = None) -> Pipeline:
        return await self.store.call(self._get, ref, workspace_id)

    async def add_model_step(self, ref: PipelineRef, model_ref: int | str, workspace_id: int | None = None) -> Pipeline:
        return await self.store.call(self._add_model_step, ref, model_ref, workspace_id)

    async def clear(self, ref: PipelineRef, workspace_id: int | None = None) -> Pipeline:
        return await self.store.call(self._clear, ref, workspace_id)

    def _create(self, name: str, workspace_id: int, definition: dict[str, Any] | None) -> Pipeline:
        workspace = self.workspaces.get_now(workspace_id)
        steps = None if definition is None else self._definition_steps(definition)
        with self.store.read() as db:
            existing = db.execute(select(t.pipelines).where(
                t.pipelines.c.workspace_id == workspace.id, t.pipelines.c.name == name
            )).first()
        if existing is None:
            now = utcnow()
            self._names.clear()
            try:
                with self.store.write() as db:
                    pid = db.execute(insert(t.pipelines).values(
                        workspace_id=workspace.id, name=name, deployed=False, created_at=now, updated_at=now
                    )).inserted_primary_key[0]  # type: ignore[index]
                    _add_version(db, pid, steps or [], now)
            except Duplicate:  # created meanwhile by another call
                pass
            return self._get(name, workspace.id)
        if steps is not None:
            self._set_steps(existing.id, steps)
        return self._get(existing.id)

    def _list(self, workspace_id: int | None) -> builtins.list[Pipeline]:
        query = select(t.pipelines).order_by(t.pipelines.c.id)
        if workspace_id is not None:
            query = query.where(t.pipelines.c.workspace_id == self.workspaces.get_now(workspace_id).id)
        with self.store.read() as db:
            rows = db.execute(query).all()
        return [self._hydrate(r) for r in rows]

    def _get(self, ref: PipelineRef, workspace_id: int | None = None) -> Pipeline:
        return self._hydrate(self._row(ref, workspace_id))

    def _add_model_step(self, ref: PipelineRef, model_ref: int | str, workspace_id: int | None) -> Pipeline:
        row = self._row(ref, workspace_id)
        model = self.models.get_now(model_ref)
        if model.workspace_id != row.workspace_id:
            raise Invalid(
                f"model version {model.id} is in workspace {model.workspace_id}, pipeline "
                f"'{row.name}' in workspace {row.workspace_id}; upload the model there"
            )
        self._set_steps(row.id, [*self._latest_version(row.id)[1], model.id])
        return self._get(row.id)

    def _clear(self, ref: PipelineRef, workspace_id: int | None) -> Pipeline:
        row = self._row(ref, workspace_id)
        self._set_steps(row.id, [])
        return self._get(row.id)

    # --- deployment --------------------------------------------------------------------------

    async def deploy(self, ref: PipelineRef, workspace_id: int | None = None, wait: bool = True) -> Pipeline:
        """Deploy; with `wait=False` answer as soon as the pipeline is Starting and build it in
        the background (a failure then shows as its Error status)."""
        row = await self.store.call(self._row, ref, workspace_id)
        pid = row.id
        if wait:
            await self._deploy(pid, row.name)
            return await self.get(pid)
        starting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deploying = self._resuming[pid] = asyncio.ensure_future(self._deploy(pid, row.name, starting))
        deploying.add_done_callback(functools.partial(self._background_deploy_ended, pid))
        await asyncio.wait((starting, deploying), return_when=asyncio.FIRST_COMPLETED)
        if deploying.done():
            deploying.result()  # refused (no steps, a broken chain): still the caller's 400
        return await self.get(pid)

    def _background_deploy_ended(self, pid: int, done: asyncio.Task[None]) -> None:
        if self._resuming.get(pid) is done:
            del self._resuming[pid]
        if not done.cancelled() and done.exception() is not None:
            log.info("background deployment of pipeline %s failed: %s", pid, done.exception())

    async def undeploy(self, ref: PipelineRef, workspace_id: int | None = None) -> Pipeline:
        row = await self.store.call(self._row, ref, workspace_id)
        pid = row.id
        async with self._locks[pid]:
            self._running.pop(pid, None)
            self._errors.pop(pid, None)
            await self.store.call(self._set_deployed, pid, False)
        self._publish(pid, row.name, False)
        return await self.get(pid)

    async def delete(self, ref: PipelineRef, workspace_id: int | None = None) -> None:
        """Undeploy the pipeline and forget it with its versions and inference log."""
        row = await self.store.call(self._row, ref, workspace_id)
        async with self._locks[row.id]:
            self._running.pop(row.id, None)
            self._errors.pop(row.id, None)
            await self.store.call(self._delete, row.id)
        await asyncio.to_thread(self.inference_log.drop, row.id)
        self.bus.publish("pipeline", row.id, name=row.name, status=DELETED)

    async def status(self, ref: PipelineRef, workspace_id: int | None = None) -> dict[str, Any]:
        row = await self.store.call(self._row, ref, workspace_id)
        return self._status_answer(row.id, row.deployed)

    def _status_answer(self, pid: int, deployed: bool) -> dict[str, Any]:
        status = self._status(pid, deployed)
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
        self, ref: PipelineRef, workspace_id: int | None, statuses: tuple[str, ...], timeout: float
    ) -> dict[str, Any]:
        """The status answer once the pipeline's status is one of `statuses` (or on timeout)."""
        pid = (await self.store.call(self._row, ref, workspace_id)).id

        async def current() -> str:
            return str((await self.status(pid))["status"])

        await self.bus.wait_for("pipeline", pid, statuses, current, timeout)
        return await self.status(pid)

    async def resume(self) -> None:
        """Deploy again, in the background, every pipeline that was deployed at the last stop,
        and from now on follow what other engines deploy and undeploy."""
        self._unsubscribe = self.bus.subscribe(self._on_event)
        self.inference_events.bind(asyncio.get_running_loop())
        for pid, name in await self.store.call(self._deployed):
            self._load_here(pid, name)

    def _load_here(self, pid: int, name: str) -> None:
        if pid in self._resuming or pid in self._building:
            return
        task = asyncio.get_running_loop().create_task(self._resume_one(pid, name))
        self._resuming[pid] = task
        task.add_done_callback(functools.partial(self._resumed, pid))

    def _resumed(self, pid: int, _task: asyncio.Task[None]) -> None:
        self._resuming.pop(pid, None)

    def _on_event(self, event: Event) -> None:
        """Deployment is desired state in the database: when another engine changes a pipeline,
        this one loads the new version, or lets its sessions go."""
        if event["kind"] == "pipeline" and event.get("engine") not in (None, self.bus.engine_id):
            follower = asyncio.get_running_loop().create_task(self._follow(event["id"], event["name"]))
            self._followers.add(follower)
            follower.add_done_callback(self._followers.discard)

    async def _follow(self, pid: int, name: str) -> None:
        deployed = await self.store.call(self._is_deployed, pid)
        if not deployed:
            async with self._locks[pid]:
                self._running.pop(pid, None)
                self._errors.pop(pid, None)
            return
        version, _models = await self.store.call(self._latest_version, pid)
        current = self._running.get(pid)
        if current is None or current.version != version:
            self._errors.pop(pid, None)
            self._load_here(pid, name)

    def _deployed(self) -> builtins.list[tuple[int, str]]:
        with self.store.read() as db:
            query = select(t.pipelines.c.id, t.pipelines.c.name).where(t.pipelines.c.deployed.is_(True))
            return [(r.id, r.name) for r in db.execute(query)]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in [*self._resuming.values(), *self._followers]:
            task.cancel()
        self._running.clear()
        await asyncio.to_thread(self._requests.shutdown, True)
        await asyncio.to_thread(self._compute.shutdown, True)
        self.inference_events.flush()

    # --- inference and logs ------------------------------------------------------------------

    async def infer(
        self, ref: PipelineRef, workspace_id: int | None, body: Body, codec: Codec, echo_inputs: bool = True
    ) -> bytes:
        """Decode a frame, run it through the deployed pipeline, log it, answer the result frame
        (without its `in.*` columns unless `echo_inputs`: a caller holding its inputs may ask for
        less to travel; the log holds them either way)."""
        pid, deployment = await self._deployment(ref, workspace_id)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._requests, self._infer_logged, pid, deployment, body, codec, echo_inputs
        )

    def infer_here(self, pid: int, body: Body, codec: Codec, echo_inputs: bool = True) -> bytes | None:
        """`infer` in the calling thread, when this engine serves the pipeline already; None
        when it does not (then `infer` loads it). For callers on a thread of their own."""
        deployment = self._running.get(pid)
        return None if deployment is None else self._infer_logged(pid, deployment, body, codec, echo_inputs)

    async def infer_in_pool(self, pid: int, body: Body, codec: Codec, echo_inputs: bool = True) -> bytes | None:
        """`infer_here` in the inference threads, awaited on the caller's loop (any thread's)."""
        if pid not in self._running:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._requests, self.infer_here, pid, body, codec, echo_inputs)

    def _infer_logged(self, pid: int, deployment: Deployment, body: Body, codec: Codec, echo_inputs: bool) -> bytes:
        result = deployment.infer(codec.decode(body), utcnow())
        self.inference_log.append(pid, result, deployment.version, deployment.last_model.sha)
        self.inference_events.logged(pid, deployment.pipeline_name, result.num_rows)
        if not echo_inputs:
            result = result.drop_columns([name for name in result.column_names if name.startswith("in.")])
        return codec.encode(with_check_failures(result))

    async def logs(
        self, name: str, workspace_id: int | None, query: Query, codec: Codec, count: bool = False
    ) -> tuple[bytes, LogPage]:
        """A page of the pipeline's inference log; with `count`, also the rows in its time range."""
        row = await self.store.call(self._row, name, workspace_id)

        def read() -> tuple[bytes, LogPage]:
            page = self.inference_log.query(row.id, query)
            if count:
                page.total = self.inference_log.count(row.id, query)
            return codec.encode(with_check_failures(page.table)), page

        return await asyncio.to_thread(read)

    async def _deployment(self, ref: PipelineRef, workspace_id: int | None) -> tuple[int, Deployment]:
        key = (ref, workspace_id)
        pid = self._names.get(key)
        if pid is not None and pid in self._running:  # the hot path: no database look-up
            return pid, self._running[pid]
        row = await self.store.call(self._row, ref, workspace_id)
        pid = self._names[key] = row.id
        deployment = self._running.get(pid)
        if deployment is None and row.deployed and pid not in self._errors:
            self._load_here(pid, row.name)  # deployed through another engine: sessions of our own
        starting = self._building.get(pid) or self._resuming.get(pid)
        if deployment is None and starting is not None:
            with contextlib.suppress(Exception):  # a failed start is reported below
                await asyncio.wait_for(asyncio.shield(starting), START_WAIT_S)
            deployment = self._running.get(pid)
        if deployment is None:
            raise Invalid(
                f"pipeline '{row.name}' is not deployed (status {self._status(pid, row.deployed)}); "
                "deploy it first with pipelines/deploy"
            )
        return pid, deployment

    async def _resume_one(self, pid: int, name: str) -> None:
        try:
            await self._deploy(pid, name)
        except Exception as e:  # shown as the pipeline's Error status
            log.warning("could not redeploy pipeline %s: %s", name, e)
            self._errors.setdefault(pid, str(e))
            self._publish(pid, name, True)

    async def _deploy(self, pid: int, name: str, starting: asyncio.Future[None] | None = None) -> None:
        """Build and serve the latest version; `starting` is resolved once it is Starting."""
        async with self._locks[pid]:
            version, model_ids = await self.store.call(self._latest_version, pid)
            if not model_ids:
                raise Invalid(f"pipeline '{name}' has no steps; add a model step before deploying")
            current = self._running.get(pid)
            if current is not None and current.version == version:
                return
            models = [await self.models.get(m) for m in model_ids]
            check_chain(models)
            future = asyncio.ensure_future(asyncio.to_thread(self._build, name, version, models))
            self._building[pid] = future
            deployed = await self.store.call(self._is_deployed, pid)
            self._publish(pid, name, deployed)
            if starting is not None:
                starting.set_result(None)
            try:
                deployment = await future
            except Exception as e:
                message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if pid not in self._running:
                    self._errors[pid] = message
                self._publish(pid, name, deployed)
                raise Invalid(f"pipeline '{name}' could not be deployed: {message}") from None
            finally:
                self._building.pop(pid, None)
            # Serving first: a request waiting on the build must find the deployment when it wakes.
            self._running[pid] = deployment
            self._errors.pop(pid, None)
            await self.store.call(self._set_deployed, pid, True)
        self._publish(pid, name, True)

    def _build(self, name: str, version: str, models: builtins.list[ModelVersion]) -> Deployment:
        # pyarrow imports pandas on its first conversion of Python objects (about 1 s): pay it
        # here, in the deploying thread, rather than in the first inference request.
        import pandas  # noqa: F401

        steps = [Step(m, build_session(self.blobs.local(m.sha), self.settings.threads)) for m in models]
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

    def _publish(self, pid: int, name: str, deployed: bool) -> None:
        self.bus.publish("pipeline", pid, name=name, status=self._status(pid, deployed))

    # --- storage (these run in the store's thread pool) ----------------------------------------

    def _row(self, ref: PipelineRef, workspace_id: int | None = None) -> Row[Any]:
        """A pipeline by integer id or by name (with `workspace_id` when names repeat)."""
        column = t.pipelines.c.id if isinstance(ref, int) else t.pipelines.c.name
        query = select(t.pipelines).where(column == ref)
        if workspace_id is not None:
            query = query.where(t.pipelines.c.workspace_id == workspace_id)
        with self.store.read() as db:
            rows = db.execute(query).all()
        if not rows:
            scope = f" in workspace {workspace_id}" if workspace_id is not None else ""
            raise NotFound(f"pipeline {ref!r} does not exist{scope}")
        if len(rows) > 1:
            raise Invalid(
                f"pipelines named {ref!r} exist in workspaces {[r.workspace_id for r in rows]}; give 'workspace_id'"
            )
        return rows[0]

    def _delete(self, pid: int) -> None:
        with self.store.write() as db:
            db.execute(delete(t.pipeline_versions).where(t.pipeline_versions.c.pipeline_id == pid))
            db.execute(delete(t.pipelines).where(t.pipelines.c.id == pid))

    def _is_deployed(self, pid: int) -> bool:
        with self.store.read() as db:
            return bool(db.scalar(select(t.pipelines.c.deployed).where(t.pipelines.c.id == pid)))

    def _set_deployed(self, pid: int, deployed: bool) -> None:
        with self.store.write() as db:
            changes = {"deployed": deployed, "updated_at": utcnow()}
            db.execute(update(t.pipelines).where(t.pipelines.c.id == pid).values(**changes))

    def _latest_version(self, pid: int) -> tuple[str, builtins.list[int]]:
        versions = t.pipeline_versions
        with self.store.read() as db:
            row = db.execute(select(versions.c.version, versions.c.steps).where(versions.c.pipeline_id == pid)
                             .order_by(versions.c.id.desc()).limit(1)).first()
        assert row is not None  # every pipeline is created with a first version
        return row.version, list(row.steps)

    def _set_steps(self, pid: int, model_ids: builtins.list[int]) -> None:
        if model_ids == self._latest_version(pid)[1]:
            return
        now = utcnow()
        with self.store.write() as db:
            _add_version(db, pid, model_ids, now)
            db.execute(update(t.pipelines).where(t.pipelines.c.id == pid).values(updated_at=now))

    def _definition_steps(self, definition: dict[str, Any]) -> builtins.list[int]:
        """Model ids from a definition: {"steps": [{"model_version_id": id} |
        {"ModelInference": {"models": [{"name", "version"?}]}}]}."""
        steps = definition.get("steps")
        if not isinstance(steps, list):
            raise Invalid("'definition' must be an object with a 'steps' list")
        ids = []
        for step in steps:
            if isinstance(step, dict) and isinstance(step.get("model_version_id"), int | str):
                ids.append(self.models.get_now(step["model_version_id"]).id)
            elif isinstance(step, dict) and isinstance(step.get("ModelInference"), dict):
                for ref in step["ModelInference"].get("models") or []:
                    if not isinstance(ref, dict) or not isinstance(ref.get("name", ""), str):
                        raise Invalid(f"a ModelInference model must be an object with 'name', got {ref!r}")
                    version = ref.get("version")
                    if version is not None and not isinstance(version, str):
                        raise Invalid(f"a ModelInference model's 'version' must be a string, got {version!r}")
                    model = self.models.get_now(version) if version else self.models.latest_now(ref.get("name", ""))
                    ids.append(model.id)
            else:
                raise Invalid(f"a definition step must name a 'model_version_id', got {step!r}")
        return ids

    def _hydrate(self, row: Row[Any]) -> Pipeline:
        versions = t.pipeline_versions
        with self.store.read() as db:
            found = db.execute(select(versions.c.version, versions.c.steps).where(versions.c.pipeline_id == row.id)
                               .order_by(versions.c.id.desc())).all()
        steps = []
        for model_id in found[0].steps:
            model = self.models.get_now(model_id)
            steps.append(PipelineStep(model.id, model.name, model.version, model.sha))
        return Pipeline(
            id=row.id,
            name=row.name,
            workspace_id=row.workspace_id,
            status=self._status(row.id, row.deployed),
            deployed=row.deployed,
            steps=steps,
            versions=[v.version for v in found],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _add_version(db: Connection, pid: int, model_ids: list[int], now: datetime) -> None:
    db.execute(insert(t.pipeline_versions).values(
        pipeline_id=pid, version=str(uuid.uuid4()), steps=model_ids, created_at=now
    ))
