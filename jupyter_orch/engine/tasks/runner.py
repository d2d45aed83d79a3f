"""The run queue: starts pending runs in FIFO order under a concurrency limit, never two runs
of one task at once, and drives each run to its end (exit, timeout, kill or server stop).

What a run is made of (`prepare`) and what its end means for its task (`run_ended`) belong to
the caller, through `RunHooks`; a run's start also starts a task that waited for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from ..executors.base import Execution, Executor, RunSpec
from .records import FAILURE, KILLED, SUCCESS, TIMED_OUT, TaskRecords
from .runlogs import RunLogs

SERVER_STOPPED = "server_stopped"  # stop reason of runs ended by a server shutdown


class RunHooks(Protocol):
    async def prepare(self, run_id: str) -> tuple[RunSpec, float | None]:
        """The run's launch spec and its timeout in seconds (None: no timeout)."""
        ...

    async def run_ended(self, task_id: str, run_id: str) -> None: ...


@dataclass
class _Active:
    run_id: str
    task_id: str
    execution: Execution | None = None
    stop_reason: str | None = None
    job: asyncio.Task[None] | None = field(default=None, repr=False)


class Runner:
    def __init__(
        self,
        records: TaskRecords,
        logs: RunLogs,
        executor: Executor,
        hooks: RunHooks,
        max_concurrent: int,
        kill_grace: float,
    ):
        self.records = records
        self.store = records.store
        self.logs = logs
        self.executor = executor
        self.hooks = hooks
        self.max_concurrent = max_concurrent
        self.kill_grace = kill_grace
        self._queue: deque[tuple[str, str]] = deque()  # (run_id, task_id), oldest first
        self._active: dict[str, _Active] = {}
        self._stoppers: set[asyncio.Task[None]] = set()
        self._stopping = False

    def enqueue(self, run_id: str, task_id: str) -> None:
        self._queue.append((run_id, task_id))
        self._pump()

    def admitted(self, run_id: str) -> bool:
        """True when the run holds a slot (starting or running), not waiting in the queue."""
        return run_id in self._active

    async def kill(self, run_id: str, task_id: str) -> bool:
        """Stop a run. True when it ended at once (it had not started), False when it is being
        stopped and will end through `run_ended`."""
        active = self._active.get(run_id)
        if active is not None:
            active.stop_reason = KILLED
            self._stop(active)
            return False
        # A run may be pending in its row only, when the engine has not started yet.
        with contextlib.suppress(ValueError):
            self._queue.remove((run_id, task_id))
        await self.store.call(self.records.run_ended, run_id, task_id, KILLED, None, "killed before it started")
        return True

    async def stop(self) -> None:
        """Server shutdown: stop every run (they end as failures); queued runs stay pending."""
        self._stopping = True
        self._queue.clear()
        for active in self._active.values():
            active.stop_reason = active.stop_reason or SERVER_STOPPED
            self._stop(active)
        await asyncio.gather(*(a.job for a in list(self._active.values()) if a.job), return_exceptions=True)

    def _pump(self) -> None:
        if self._stopping:
            return
        busy = {a.task_id for a in self._active.values()}
        index = 0
        while len(self._active) < self.max_concurrent and index < len(self._queue):
            run_id, task_id = self._queue[index]
            if task_id in busy:
                index += 1
                continue
            del self._queue[index]
            busy.add(task_id)
            active = self._active[run_id] = _Active(run_id, task_id)
            active.job = asyncio.get_running_loop().create_task(self._drive(active))

    async def _drive(self, active: _Active) -> None:
        try:
            await self._execute(active)
        finally:
            del self._active[active.run_id]
            self._pump()

    async def _execute(self, active: _Active) -> None:
        run_id, task_id = active.run_id, active.task_id
        log = self.logs.fresh(run_id, task_id)
        try:
            spec, timeout = await self.hooks.prepare(run_id)
            execution = await self.executor.start(spec, log.add)
        except Exception as e:
            log.note(f"the run could not start: {e}")
            await log.close()
            error = f"the run could not start: {e}"
            await self.store.call(self.records.run_ended, run_id, task_id, FAILURE, None, error)
            await self.hooks.run_ended(task_id, run_id)
            return
        active.execution = execution
        await self.store.call(self.records.run_started, run_id, task_id, execution.pid)
        execution.release()
        if active.stop_reason:  # killed or shut down while it was starting
            self._stop(active)
        try:
            code = await asyncio.wait_for(execution.wait(), timeout)
        except TimeoutError:
            active.stop_reason = active.stop_reason or TIMED_OUT
            log.note(f"the run timed out after {timeout:g} s; stopping it")
            await execution.stop(self.kill_grace)
            code = await execution.wait()
        status, failure = _outcome(code, active.stop_reason, log.failure_line, timeout)
        if active.stop_reason == KILLED:
            log.note("the run was killed on request")
        elif active.stop_reason == SERVER_STOPPED:
            log.note("the server stopped while this run was running; the run was stopped")
        await log.close()
        await self.store.call(self.records.run_ended, run_id, task_id, status, code, failure)
        await self.hooks.run_ended(task_id, run_id)

    def _stop(self, active: _Active) -> None:
        if active.execution is None:
            return  # still starting: `_execute` stops it once it has started
        stopper = asyncio.get_running_loop().create_task(active.execution.stop(self.kill_grace))
        self._stoppers.add(stopper)
        stopper.add_done_callback(self._stoppers.discard)


def _outcome(code: int, reason: str | None, failure_line: str | None, timeout: float | None) -> tuple[str, str | None]:
    if reason == KILLED:
        return KILLED, "killed on request"
    if reason == TIMED_OUT:
        return TIMED_OUT, f"timed out after {timeout:g} s"
    if reason == SERVER_STOPPED:
        return FAILURE, "the server stopped while the run was running"
    if code == 0:
        return SUCCESS, None
    return FAILURE, failure_line or f"exited with code {code}"
