"""The run queue: claims pending runs from the database for this engine in FIFO order under a
concurrency limit (never two live runs of one task, whichever engine claims them), and drives
each run it claimed to its end (exit, timeout, kill or server stop). Several engines on one
database share the queue: each claims what it has slots for.

What a run is made of (`prepare`) and what its end means for its task (`run_ended`) belong to
the caller, through `RunHooks`; a run's start also starts a task that waited for it. A write
that queues runs can claim in the same trip to the store's thread pool and the same transaction
(`queue_and_claim`): each trip is a thread hop each way and each commit an fsync, and on a run's
way to its first line they add up. Slots are reserved while a claim is under way, so two claims
at once never take more than there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from ..events.bus import Event
from ..executors.base import Execution, Executor, RunSpec, RunStart
from ..store.database import Store
from ..timeutil import utcnow
from .records import FAILURE, KILLED, KILLED_BEFORE_START, SUCCESS, TIMED_OUT, TaskRecords
from .runlogs import RunLog, RunLogs

SERVER_STOPPED = "server_stopped"  # stop reason of runs ended by a server shutdown
T = TypeVar("T")
C = TypeVar("C")  # what a run needs of the store to start (RunHooks.context)

log = logging.getLogger(__name__)


class RunHooks(Protocol[C]):
    def context(self, run_id: str) -> C:
        """What `prepare` needs of the store, read in the thread pool by the trip that claimed
        the run."""
        ...

    async def prepare(self, run_id: str, context: C) -> tuple[RunSpec, float | None]:
        """The run's launch spec and its timeout in seconds (None: no timeout)."""
        ...

    def due(self, context: C) -> datetime | None:
        """When the run's code may start, if that is later than its claim (a fire armed ahead
        of its time: the process is made before it, the run recorded and let go at it)."""
        ...

    async def run_ended(self, task_id: str, run_id: str) -> None: ...


@dataclass
class _Active(Generic[C]):
    run_id: str
    task_id: str
    context: C | Exception  # what prepare needs, or why it could not be read
    start: _Start
    execution: Execution | None = None
    stop_reason: str | None = None
    job: asyncio.Task[None] | None = field(default=None, repr=False)


class _Start(RunStart):
    """Records a run's start for its executor: `running` once, however often asked. What the
    record announces (the run `running`, its task `started`) goes out once the run was let go
    (`located`): the subscribers' work (waiters looking again, the browser's event stream) came
    before the record's answer on the loop, and so before the run's first line."""

    def __init__(self, store: Store, records: TaskRecords, run_id: str, task_id: str, due: datetime | None):
        self._store, self._records = store, records
        self._run_id, self._task_id, self._due = run_id, task_id, due
        self._running: asyncio.Future[None] | None = None
        self._announced: asyncio.Future[None] | None = None
        self._events: list[Event] = []
        self._pid_known = False
        self.let_go: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._killed = asyncio.get_running_loop().create_future()  # a kill came before the due time

    def running(self, pid: int | None = None, worker: str | None = None) -> Awaitable[None]:
        if self._running is None:
            self._pid_known = pid is not None
            self._running = asyncio.ensure_future(self._record_when_due(pid, worker))
        return asyncio.shield(self._running)

    def kill_before_due(self) -> None:
        if not self._killed.done():
            self._killed.set_result(None)

    async def _record_when_due(self, pid: int | None, worker: str | None) -> None:
        # The loop's clock may run a hair ahead of the wall clock: wait until the wall clock says so.
        while self._due is not None and (wait := (self._due - utcnow()).total_seconds()) > 0:
            await asyncio.wait((self._killed,), timeout=wait)
            if self._killed.done():
                raise KilledBeforeStart(KILLED_BEFORE_START)
        await self._store.call(self._record, pid, worker)

    def _record(self, pid: int | None, worker: str | None) -> None:
        with self._records.bus.kept() as self._events:
            self._records.run_started(self._run_id, self._task_id, pid, worker)

    def located(self, pid: int) -> None:
        if not self.let_go.done():
            self.let_go.set_result(None)
        self._announced = asyncio.ensure_future(self._announce(None if self._pid_known else pid))

    async def _announce(self, pid: int | None) -> None:
        """Announce the recorded start, then record the pid if that is new."""
        await self.running()
        self._records.bus.release(self._events)
        if pid is not None:
            try:
                await self._store.call(self._records.run_located, self._run_id, pid)
            except Exception:  # only a name for the run's process is missing: nothing needs it to end it
                log.exception("could not record the pid of run %s", self._run_id)

    async def settled(self) -> None:
        """Once the start's record is written and announced (a run's end is recorded after
        that); a failed write was the executor's to report."""
        if self._announced is None and self._running is not None:  # recorded, never let go
            self._announced = asyncio.ensure_future(self._announce(None))
        if self._announced is not None:
            await asyncio.gather(self._announced, return_exceptions=True)


class KilledBeforeStart(Exception):
    """A run armed ahead of its time was killed before its time came: its code never ran."""


Claimed = tuple[str, str, C | Exception]  # run id, task id, the run's context (or why there is none)


class Runner(Generic[C]):
    def __init__(
        self,
        records: TaskRecords,
        logs: RunLogs,
        executor: Executor,
        hooks: RunHooks[C],
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
        self._active: dict[str, _Active[C]] = {}
        self._stoppers: set[asyncio.Task[None]] = set()
        self._claiming: asyncio.Task[None] | None = None
        self._claim_again = False
        self._reserved = 0  # slots held by claims under way
        self._no_claim_under_way = asyncio.Event()  # set while _reserved is 0
        self._no_claim_under_way.set()
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

    async def queue_and_claim(self, write: Callable[[], T]) -> T:
        """Run `write` (a store function that queues runs) in the store's thread pool, then claim
        in the same trip; return once what could be claimed has been, like `claim`."""
        try:
            slots = await self._reserve()
        except Exception:  # e.g. the cluster's slots are unknown now: the claim below retries
            slots = 0
        claimed: list[Claimed[C]] = []

        def queue_then_claim() -> T:
            # One transaction; other engines hear of the runs once it is committed and claimed.
            mine: list[Claimed[C]] = []
            with self.records.bus.held(), self.store.write():
                result = write()
                if slots:
                    try:
                        mine = self._claim_now(slots)
                    except Exception:  # the runs are queued all the same: the claim below retries
                        log.exception("could not claim pending runs")
            claimed.extend(mine)
            return result

        try:
            result = await self.store.call(queue_then_claim)
        finally:
            self._adopt(slots, claimed)
        if not slots or len(claimed) == slots:  # no slot was free, or more may be claimable
            await self.claim()
        return result

    @property
    def active_run_ids(self) -> list[str]:
        return list(self._active)

    def admitted(self, run_id: str) -> bool:
        """True when the run holds a slot (starting or running), not waiting in the queue."""
        return run_id in self._active

    async def until_started(self, run_id: str, timeout: float) -> None:
        """Return once a run this engine holds a slot for has been let go to run its code, or
        has ended (it could not start), or after `timeout`; at once for a run it holds none for."""
        active = self._active.get(run_id)
        if active is not None and active.job is not None:
            await asyncio.wait((active.start.let_go, active.job), timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)

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
        await self._no_claim_under_way.wait()  # a queue_and_claim trip's runs are stopped too
        for active in self._active.values():
            active.stop_reason = active.stop_reason or SERVER_STOPPED
            self._stop(active)
        await asyncio.gather(*(a.job for a in list(self._active.values()) if a.job), return_exceptions=True)

    async def _claim(self) -> None:
        while True:
            self._claim_again = False
            slots, claimed = 0, []
            try:
                slots = await self._reserve()
                if not slots:
                    return
                claimed = await self.store.call(self._claim_now, slots)
            except Exception:  # e.g. the database is briefly unreachable: the next wake retries
                log.exception("could not claim pending runs")
                return
            finally:
                self._adopt(slots, claimed)
            if not self._claim_again and len(claimed) < slots:
                return

    async def _reserve(self) -> int:
        """Reserve the free slots for a claim (`_adopt` gives them back): how many."""
        if not self._started or self._stopping:
            return 0
        free = await self.executor.capacity(self.max_concurrent) - len(self._active) - self._reserved
        if free <= 0 or self._stopping:
            return 0
        self._reserved += free
        self._no_claim_under_way.clear()
        return free

    def _claim_now(self, slots: int) -> list[Claimed[C]]:
        """Claim up to `slots` runs, with what each needs to start (in the store's thread pool)."""
        claimed: list[Claimed[C]] = []
        for run_id, task_id in self.records.claim_runs(self.engine_id, slots):
            context: C | Exception
            try:
                context = self.hooks.context(run_id)
            except Exception as e:  # the run fails to start, saying why
                context = e
            claimed.append((run_id, task_id, context))
        return claimed

    def _adopt(self, slots: int, claimed: list[Claimed[C]]) -> None:
        """A claim with `slots` reserved is over: drive the runs it claimed."""
        self._reserved -= slots
        if not self._reserved:
            self._no_claim_under_way.set()
        for run_id, task_id, context in claimed:
            due = None if isinstance(context, Exception) else self.hooks.due(context)
            start = _Start(self.store, self.records, run_id, task_id, due)
            active = self._active[run_id] = _Active(run_id, task_id, context, start)
            active.job = asyncio.get_running_loop().create_task(self._drive(active))

    async def _drive(self, active: _Active[C]) -> None:
        try:
            await self._execute(active)
        finally:
            del self._active[active.run_id]
            self.wake()

    async def _execute(self, active: _Active[C]) -> None:
        run_id, task_id = active.run_id, active.task_id
        log = self.logs.fresh(run_id, task_id)
        outcome: tuple[str, int | None, str | None] = (FAILURE, None, "the engine failed while the run ran")
        try:
            outcome = await self._run(active, log)
        finally:
            # Whatever failed above, and even while its log lines are still being written (they
            # are, in the background, until they are), the run's end is recorded.
            await log.close()
            await active.start.settled()
            await self.store.call(self.records.run_ended, run_id, task_id, *outcome)
            await self.hooks.run_ended(task_id, run_id)

    async def _run(self, active: _Active[C], log: RunLog) -> tuple[str, int | None, str | None]:
        """Start the run and drive it to its end: its status, exit code and failure."""
        try:
            if isinstance(active.context, Exception):
                raise active.context
            spec, timeout = await self.hooks.prepare(active.run_id, active.context)
            execution = await self.executor.start(spec, log.add, active.start)
        except KilledBeforeStart:
            return KILLED, None, KILLED_BEFORE_START
        except Exception as e:
            log.note(f"the run could not start: {e}")
            return FAILURE, None, f"the run could not start: {e}"
        active.execution = execution
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
        return status, code, failure

    def _stop(self, active: _Active[C]) -> None:
        if active.execution is None:  # still starting: `_execute` stops it once it has started
            if active.stop_reason == KILLED:  # or it never starts, when it waits for its time
                active.start.kill_before_due()
            return
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
