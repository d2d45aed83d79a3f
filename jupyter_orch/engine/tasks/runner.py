"""The run queue: claims pending runs from the database for this engine in FIFO order under a
concurrency limit (never two live runs of one task, whichever engine claims them), and drives
each run it claimed to its end (exit, timeout, kill or server stop). Several engines on one
database share the queue: each claims what it has slots for.

What a run is made of (`prepare`) and what its end means for its task (`run_ended`) belong to
the caller, through `RunHooks`; a run's start also starts a task that waited for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from ..executors.base import Execution, Executor, RunSpec
from .records import FAILURE, KILLED, SUCCESS, TIMED_OUT, TaskRecords
from .runlogs import RunLogs

SERVER_STOPPED = "server_stopped"  # stop reason of runs ended by a server shutdown

log = logging.getLogger(__name__)


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
        engine_id: str,
    ):
        self.records = records
        self.store = records.store
        self.logs = logs
        self.executor = executor
        executor.capacity_changed = self.wake
        self.hooks = hooks
        self.max_concurrent = max_concurrent
        self.kill_grace = kill_grace
        self.engine_id = engine_id
        self._active: dict[str, _Active] = {}
        self._stoppers: set[asyncio.Task[None]] = set()
        self._claiming: asyncio.Task[None] | None = None
        self._claim_again = False
        self._started = False
        self._stopping = False

    def start(self) -> None:
        """Begin claiming (after crash recovery, so no run is claimed twice by this engine)."""
        self._started = True
        self.wake()

    def wake(self) -> None:
        """Look for claimable runs soon: a run was queued, or a slot or a task came free."""
        if not self._started or self._stopping:
            return
        if self._claiming is not None and not self._claiming.done():
            self._claim_again = True
            return
        self._claiming = asyncio.get_running_loop().create_task(self._claim())

    async def claim(self) -> None:
        """Claim now, and return once what could be claimed has been."""
        self.wake()
        while self._claiming is not None and not self._claiming.done():
            await asyncio.shield(self._claiming)

    @property
    def active_run_ids(self) -> list[str]:
        return list(self._active)

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
        return await self.store.call(self.records.cancel_unclaimed, run_id, task_id)

    def kill_here(self, run_id: str) -> None:
        """Stop a run this engine drives, if it does (a kill asked through another engine)."""
        active = self._active.get(run_id)
        if active is not None and active.stop_reason is None:
            active.stop_reason = KILLED
            self._stop(active)

    async def stop(self) -> None:
        """Server shutdown: stop every run (they end as failures); queued runs stay pending."""
        self._stopping = True
        if self._claiming is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._claiming
        for active in self._active.values():
            active.stop_reason = active.stop_reason or SERVER_STOPPED
            self._stop(active)
        await asyncio.gather(*(a.job for a in list(self._active.values()) if a.job), return_exceptions=True)

    async def _claim(self) -> None:
        while True:
            self._claim_again = False
            try:
                free = await self.executor.capacity(self.max_concurrent) - len(self._active)
                if free <= 0 or self._stopping:
                    return
                claimed = await self.store.call(self.records.claim_runs, self.engine_id, free)
            except Exception:  # e.g. the database is briefly unreachable: the next wake retries
                log.exception("could not claim pending runs")
                return
            for run_id, task_id in claimed:
                active = self._active[run_id] = _Active(run_id, task_id)
                active.job = asyncio.get_running_loop().create_task(self._drive(active))
            if not self._claim_again and len(claimed) < free:
                return

    async def _drive(self, active: _Active) -> None:
        try:
            await self._execute(active)
        finally:
            del self._active[active.run_id]
            self.wake()

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
        await self.store.call(self.records.run_started, run_id, task_id, execution.pid, execution.worker)
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
