"""The Dask executor: each run a subprocess on a worker of a Dask distributed cluster.

`c.OrchApp.executor_class = "jupyter_orch.engine.executors.dask.DaskExecutor"` with
`c.DaskExecutor.scheduler_address = "tcp://host:8786"`, or `"local"` for a `LocalCluster` of
worker processes on this machine (to try it). Each run is one Dask task (`dask_worker.py`) that
needs one `orch_runs` resource: a worker started with `--resources orch_runs=N` has N run slots;
the engine claims runs only while the cluster has free slots, so the rest wait as `pending`, in
order. The run's lines come back as Dask events while it prints; a kill or timeout sets a
`distributed.Event` the worker watches (cancelling a Dask future does not stop running code).
A worker that dies mid-run ends the run `failure`, saying which worker was lost (the scheduler
tells that as an event of its `all` topic, which also says when workers join).

A server that restarts while runs execute on workers ends them: recovery sets their stop events
and marks them failed (they are not re-attached). Pipelines and inference stay in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from distributed import Client, Event, LocalCluster

from ..timeutil import utcnow
from .base import Execution, Executor, LineSink, RunSpec, RunStart
from .dask_worker import TOPIC, Line, RemoteResult, RemoteRun, finish_on_worker, run_on_worker, stop_name
from .sandbox import Sandbox

RESOURCE = "orch_runs"
CAPACITY_TTL_S = 1.0
LATE_LINES_WAIT_S = 2.0  # after a run's end, how long lines still on their way may take
log = logging.getLogger(__name__)


class DaskExecutor(Executor):
    local_files = False

    def __init__(
        self,
        runs_root: Path,
        sandbox: Sandbox | None = None,
        scheduler_address: str = "local",
        slots_per_worker: int = 4,
        local_workers: int = 2,
        installer: str = "auto",
    ):
        super().__init__(runs_root, sandbox)
        if sandbox is not None:
            raise ValueError("run_sandbox is not available with the Dask executor: sandbox the workers instead")
        if int(slots_per_worker) < 1:
            raise ValueError(f"slots_per_worker must be at least 1, got {slots_per_worker}")
        self.scheduler_address = str(scheduler_address)
        self.slots_per_worker = int(slots_per_worker)
        self.local_workers = int(local_workers)
        self.installer = installer
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        self._runs: dict[str, DaskExecution] = {}
        self._capacity: tuple[float, int] = (0.0, 0)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the Dask executor is not open")
        return self._client

    async def open(self) -> None:
        address = self.scheduler_address
        if address == "local":
            self._cluster = await LocalCluster(
                n_workers=self.local_workers, threads_per_worker=self.slots_per_worker + 1, processes=True,
                resources={RESOURCE: self.slots_per_worker}, host="127.0.0.1", dashboard_address=None,
                asynchronous=True,
            )
            address = self._cluster.scheduler_address
        self._client = await Client(address, asynchronous=True)
        self._client.subscribe_topic(TOPIC, self._on_run_event)
        self._client.subscribe_topic("all", self._on_cluster_event)  # the scheduler's: workers come and go

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._cluster is not None:
            await self._cluster.close()
            self._cluster = None

    async def capacity(self, configured: int) -> int:
        """The cluster's run slots (looked up at most once a second)."""
        loop = asyncio.get_running_loop()
        looked_at, slots = self._capacity
        if loop.time() - looked_at >= CAPACITY_TTL_S:
            workers = (await self.client.scheduler.identity())["workers"]
            slots = int(sum(w.get("resources", {}).get(RESOURCE, 0) for w in workers.values()))
            self._capacity = (loop.time(), slots)
        return slots

    async def start(self, spec: RunSpec, sink: LineSink, start: RunStart) -> Execution:
        run = RemoteRun(
            run_id=spec.run_id, orch_id=spec.orch_id, orch_sha=spec.orch_sha, entrypoint=spec.entrypoint,
            requirements=spec.requirements, env_key=spec.env_key, env=spec.env, args=spec.args, grace=spec.kill_grace,
            installer=self.installer, preload=self.remote_preload,
        )
        execution = self._runs[spec.run_id] = DaskExecution(self, spec.run_id, sink)
        try:
            await execution.begin(run, start)
        except BaseException:
            self._runs.pop(spec.run_id, None)
            raise
        return execution

    async def end_orphan(self, run_id: str, pid: int | None) -> None:
        """Stop a run a dead server left on the cluster, wherever it executes."""
        await Event(stop_name(run_id), client=self.client).set()

    def _on_run_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1]
        execution = self._runs.get(message.get("run_id", ""))
        if execution is not None:
            execution.receive(message)

    def _on_cluster_event(self, event: tuple[float, dict[str, Any]]) -> None:
        action, worker = event[1].get("action"), str(event[1].get("worker"))
        if action not in ("add-worker", "remove-worker"):
            return
        self._capacity = (0.0, 0)  # look again: the slots changed
        if action == "remove-worker":
            for execution in list(self._runs.values()):
                if execution.worker == worker:
                    execution.lose(worker)
        self.capacity_changed()

    def _forget(self, run_id: str) -> None:
        self._runs.pop(run_id, None)


@dataclass
class DaskExecution(Execution):
    executor: DaskExecutor
    run_id: str
    sink: LineSink
    pid: int | None = None
    worker: str | None = None
    _received: int = 0
    _early: dict[int, Line] = field(default_factory=dict)
    _started: asyncio.Future[None] | None = None
    _lost: asyncio.Future[str] | None = None
    _future: Any = None
    _done: asyncio.Task[int] | None = None

    async def begin(self, run: RemoteRun, start: RunStart) -> None:
        """Submit the run and return once its process runs on a worker (it may wait for a slot)
        and that was recorded. (A worker starts the process at once: unlike a local run's, its
        user code does not wait for the record; a crash in between is recovered by stopping the
        run on the cluster by its id, which needs no pid.)"""
        loop = asyncio.get_running_loop()
        self._started, self._lost = loop.create_future(), loop.create_future()
        client = self.executor.client
        self._future = client.submit(run_on_worker, run, key=f"jupyter-orch-run-{run.run_id}", pure=False,
                                     resources={RESOURCE: 1}, retries=0)
        result = asyncio.ensure_future(self._future.result())
        await asyncio.wait((self._started, result), return_when=asyncio.FIRST_COMPLETED)
        if not self._started.done():
            outcome: RemoteResult = await result
            await self._collect(outcome)
            self.executor._forget(self.run_id)
            raise RuntimeError(outcome.error or f"the run ended before it started (exit code {outcome.exit_code})")
        self._done = asyncio.ensure_future(self._finish(result))
        assert self.pid is not None
        try:
            await start.running(self.pid, self.worker)
        except BaseException:
            await self.stop(0)
            raise
        start.located(self.pid)

    def receive(self, message: dict[str, Any]) -> None:
        started = message.get("started")
        if started is not None and self._started is not None and not self._started.done():
            self.pid, self.worker = started["pid"], started["worker"]
            self._started.set_result(None)
        for line in message.get("lines", ()):
            self._deliver(line)

    def _deliver(self, line: Line) -> None:
        """Lines in their order: one that arrives early waits for those before it."""
        self._early[line[0]] = line
        while self._received in self._early:
            _seq, stream, text, at, partial = self._early.pop(self._received)
            self.sink(stream, datetime.fromisoformat(at), [(text, partial)])
            self._received += 1

    def lose(self, worker: str) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(worker)

    async def _finish(self, result: asyncio.Future[RemoteResult]) -> int:
        assert self._lost is not None
        try:
            await asyncio.wait((result, self._lost), return_when=asyncio.FIRST_COMPLETED)
            if result.done() and not result.exception():
                outcome = result.result()
                if outcome.lost_worker is None:
                    await self._collect(outcome)
                    return outcome.exit_code
                lost = self.worker or outcome.lost_worker
            else:
                lost = self._lost.result() if self._lost.done() else (self.worker or "?")
                with contextlib.suppress(Exception):
                    await self.executor.client.cancel(self._future)
            self.sink("stderr", utcnow(), [(f"[jupyter-orch] the run's worker {lost} was lost; the run ended there",
                                            False)])
            return -1
        finally:
            self.executor._forget(self.run_id)

    async def _collect(self, outcome: RemoteResult) -> None:
        """Every line the run printed, also those still on their way or lost on it; then the
        worker removes the run's folder."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LATE_LINES_WAIT_S
        while self._received < outcome.lines and loop.time() < deadline:
            await asyncio.sleep(0.02)
        client = self.executor.client
        missing = client.submit(finish_on_worker, self.run_id, self._received, pure=False,
                                workers=[outcome.worker], allow_other_workers=False)
        try:
            for line in await asyncio.wait_for(missing.result(), 30):
                self._deliver(line)
        except Exception as e:  # the worker went away: its lines went with it
            log.warning("run %s: could not collect its last lines from %s: %s", self.run_id, outcome.worker, e)

    async def wait(self) -> int:
        assert self._done is not None
        return await asyncio.shield(self._done)

    async def stop(self, grace: float) -> None:
        if self._done is not None and self._done.done():
            return
        await Event(stop_name(self.run_id), client=self.executor.client).set()
        if self._done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._done), grace + 5)
