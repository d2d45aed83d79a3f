"""Tasks: an orchestration run once, on a schedule, or continuously; their state machine.

Task status:
- run once (`Oneshot`): pending -> started -> success | failed | timed_out, from its run;
- scheduled (`CronJob`): started while its schedule has fires to come; when the schedule has
  ended (its last fire is past, e.g. `0 0 12 1-15 2 2024`) and its last run has ended, the
  task is `success` with `next_run_at` null. The status tells about the schedule; each run's
  outcome is in its runs;
- continuous (`NetworkService`): started; a new run starts when the previous one ends, after
  an exponential back-off (BACKOFF_BASE_S doubling up to BACKOFF_CAP_S) while runs keep ending
  within QUICK_RUN_S;
- kill: pending_kill while runs are being stopped, then killed. Killing a task that has
  already ended changes nothing.

Several engines may share the database (tasks/coordinator.py): each claims pending runs for
itself (runner.py), one at a time fires schedules (the leader), and an engine whose lease expired
is recovered by another: runs it left running are ended (their processes killed, when on this
machine) and marked failed with a log line saying why, runs it had claimed but not started go
back to the queue, and its continuous tasks restart. A kill through any engine reaches the
engine that drives the run (a `run_kill` event, and each engine's own look at killed tasks).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import functools
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...constants import (
    PAUSED,
    RUN_FAILED,
    TASK_ACTIVE,
    TOKEN_ENV,
    URL_ENV,
    RunFilter,
    RunType,
)
from ..errors import Conflict, EngineError, Invalid
from ..events.bus import Event, EventBus
from ..executors.base import Executor, RunSpec
from ..orchestrations.environments import Environments, normalize_requirements
from ..orchestrations.orchestrations import READY, Orchestrations
from ..paging import Page, PageRequest
from ..store.database import Duplicate, Store
from ..store.leases import SCHEDULER, Leases
from ..timeutil import utcnow
from ..workspaces.workspaces import Workspaces
from .chains import Chain, bodies, chain_of, follow_up_due, follow_up_task, loop_check
from .credentials import RunCredentials, RunGrant
from .records import (
    CRONJOB,
    FAILED,
    FAILURE,
    KILLED,
    ONESHOT,
    PENDING,
    PENDING_KILL,
    RUN_ENDED,
    SERVICE,
    STARTED,
    SUCCESS,
    TASK_TERMINAL,
    TIMED_OUT,
    ExtraRun,
    NewTask,
    Run,
    ScheduleChange,
    TaskRecords,
)
from .runlogs import RunLogs
from .runner import Runner
from .scheduler import Scheduler
from .schedules import Schedule, local_end, parse_schedule
from .variables import run_variables

if TYPE_CHECKING:
    from ..engine import EngineConfig
    from ..orchestrations.orchestrations import Orchestration
    from .records import Task

log = logging.getLogger(__name__)

# What a run needs of the store to start: the run, its task and orchestration, its environment's
# interpreter (None: not on this machine) and whether its tree is unpacked here.
RunContext = tuple[Run, "Task", "Orchestration", str | None, bool]
TASK_STATUS_OF_RUN = {SUCCESS: SUCCESS, FAILURE: FAILED, TIMED_OUT: TIMED_OUT, KILLED: KILLED}
QUICK_RUN_S = 10.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
RESTART_NOTE = "the server restarted while this run was running; the run was marked failed"
DEFAULT_RUN_LIMIT = 10
RUN_START_WAIT_S = 5.0  # how long task creation waits for a run that got a slot to start
RECONCILE_QUIET_S = 30.0  # a continuous task with no run for this long lost its restart
DEFAULT_RETRY_DELAY_S = 10.0
RETRY_DELAY_CAP_S = 3600.0
RETRY_JITTER = 0.25  # up to this share of the delay is added at random, so runs that failed together spread out


class Tasks:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        workspaces: Workspaces,
        orchestrations: Orchestrations,
        environments: Environments,
        executor: Executor,
        config: EngineConfig,
        leases: Leases,
    ):
        self.store = store
        self.bus = bus
        self.workspaces = workspaces
        self.orchestrations = orchestrations
        self.environments = environments
        self.config = config
        self.leases = leases
        self.engine_id = leases.engine_id
        self.credentials = RunCredentials()
        self.records = TaskRecords(store, bus)
        self.logs = RunLogs(store, bus, config.max_log_lines_per_run, self.engine_id)
        self.runner: Runner[RunContext] = Runner(
            self.records, self.logs, executor, self, config.max_concurrent_runs, config.kill_grace_seconds,
            self.engine_id,
        )
        self.scheduler = Scheduler(
            self.records, self.runner.queue_and_claim, self._schedule_ended,
            config.missed_fire_policy, config.overlap_policy,
            leader=lambda db: leases.holds(db, SCHEDULER), engine_id=self.engine_id,
        )
        self.leading = False  # whether this engine fires the schedules now
        self._quick_ends: dict[str, int] = {}
        self._wakers: set[asyncio.TimerHandle] = set()
        self._jobs: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._stopping = False

    # --- creating, reading, killing ---

    async def create(
        self,
        run_type: RunType,
        workspace_id: int,
        orch_id: str,
        args: dict[str, Any] | None = None,
        name: str | None = None,
        timeout: float | None = None,
        schedule: str | None = None,
        tz: str | None = None,
        end_date: datetime | None = None,
        max_runs: int | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        on_success: dict[str, Any] | None = None,
        on_failure: dict[str, Any] | None = None,
        *,
        until_started: bool = False,
    ) -> Task:
        """`tz`, `end_date` (a time without offset is on the zone's wall clock) and `max_runs`
        are a scheduled task's; `max_runs` counts the runs its fires make. `max_retries` and
        `retry_delay` (a run-once or scheduled task's) retry a failed or timed-out run.
        `on_success`, `on_failure`: follow-ups (tasks/chains.py).

        `until_started`: when the first run got a slot, answer once it has started (or ended).
        Runs start in milliseconds, so a caller's first look would otherwise catch `pending`,
        and scripts written for the reference poll every few seconds until `started`: by their
        second look a short run has already ended. The wait reads nothing from the database
        while the run starts (the runner says when it let the run go): such reads took the
        CPU the start needed."""
        if run_type != CRONJOB and (tz, end_date, max_runs) != (None, None, None):
            raise Invalid("'tz', 'end_date' and 'max_runs' are for scheduled tasks (task/run_scheduled)")
        if run_type == SERVICE and (max_retries, retry_delay) != (None, None):
            raise Invalid("'max_retries' and 'retry_delay' are for run-once and scheduled tasks: a continuous"
                          " task restarts by itself")
        ends_at = local_end(end_date, tz) if end_date is not None else None
        parsed = parse_schedule(schedule, tz, ends_at) if run_type == CRONJOB else None
        orch = await self.orchestrations.get(orch_id)
        if orch.workspace_id != workspace_id:
            workspace = await self.workspaces.get(workspace_id)  # NotFound if there is none
            raise Invalid(f"orchestration {orch.id} belongs to workspace {orch.workspace_id}, not {workspace.id}")
        if orch.status != READY:
            detail = f": {orch.error}" if orch.error else "; wait until it is ready"
            raise Conflict(f"orchestration {orch.id} is {orch.status}, not ready{detail}")
        chain: Chain = {"on_success": on_success, "on_failure": on_failure}
        await self._check_follow_ups(orch.workspace_id, chain)
        next_due = parsed.next_after(utcnow()) if parsed else None
        status = PENDING if run_type == ONESHOT else STARTED
        if parsed is not None and next_due is None:
            status = SUCCESS  # a schedule that has already ended: nothing will ever run
        new = NewTask(name, orch.workspace_id, orch.id, run_type, parsed.expression if parsed else None,
                      timeout, status, args or {}, next_due, tz, ends_at, max_runs, max_retries, retry_delay,
                      on_success, on_failure)
        insert = functools.partial(self.records.insert_task, new, run_type != CRONJOB, loop_check(orch.id, chain))
        if run_type == CRONJOB:  # its runs come with its fires
            task_id, run_id = await self.store.call(insert)
        else:
            task_id, run_id = await self.runner.queue_and_claim(insert)
        if parsed is not None and next_due is not None and self.leading:
            self.scheduler.add(task_id, parsed, next_due)
        if until_started and run_id is not None:
            await self.runner.until_started(run_id, RUN_START_WAIT_S)
        return await self.get(task_id)

    async def get(self, task_id: str, run_limit: int | None = None) -> Task:
        limit = DEFAULT_RUN_LIMIT if run_limit is None else run_limit
        return await self.store.call(self.records.get_task, task_id, limit)

    async def list(self, workspace_id: int | None = None, orch_id: str | None = None, killed: bool | None = None,
                   run_limit: int | None = None) -> list[Task]:
        wid = (await self.workspaces.get(workspace_id)).id if workspace_id is not None else None
        limit = DEFAULT_RUN_LIMIT if run_limit is None else run_limit
        return await self.store.call(self.records.list_tasks, wid, orch_id, killed, limit)

    async def list_page(self, workspace_id: int | None, orch_id: str | None, killed: bool | None,
                        run_limit: int | None, page: PageRequest) -> Page[Task]:
        """A page of `list`, oldest first."""
        wid = (await self.workspaces.get(workspace_id)).id if workspace_id is not None else None
        limit = DEFAULT_RUN_LIMIT if run_limit is None else run_limit
        return await self.store.call(self.records.page_tasks, wid, orch_id, killed, limit, page)

    async def runs_page(self, task_id: str, status: RunFilter, page: PageRequest) -> Page[Run]:
        """A page of `runs`, newest first."""
        task = await self.get(task_id, 0)
        return await self.store.call(self.records.page_runs, task.id, _run_filter(status), page)

    async def run_logs_page(self, run_id: str, page: PageRequest) -> Page[str]:
        """A page of a run's log, oldest line first."""
        run = await self.store.call(self.records.get_run, run_id)
        return await self.store.call(self.logs.page, run.run_id, page)

    async def ids_by_orch_sha(self, sha: str) -> builtins.list[str]:
        return await self.store.call(self.records.task_ids_by_sha, sha.lower())

    async def wait_for(self, task_id: str, statuses: tuple[str, ...], timeout: float,
                       run_limit: int | None = None) -> Task:
        task = await self.get(task_id, 0)

        async def status() -> str:
            return (await self.get(task.id, 0)).status

        await self.bus.wait_for("task", task.id, statuses, status, timeout)
        return await self.get(task.id, run_limit)

    async def kill(self, task_id: str) -> Task:
        task = await self.get(task_id, 0)
        if task.status in TASK_TERMINAL:
            return await self.get(task.id)
        self.scheduler.remove(task.id)
        self._forget_service(task.id)
        await self.store.call(self.records.set_task_status, task.id, PENDING_KILL, killed=True, next_run_at=None)
        stopping = False
        for run in await self.store.call(self.records.active_runs, task.id):
            if not await self.runner.kill(run.run_id, task.id):
                stopping = True
                # Whichever engine drives it stops it; it records the run's end and the task's.
                self.bus.publish("run_kill", run.run_id, task_id=task.id)
        if not stopping:
            await self.store.call(self.records.set_task_status, task.id, KILLED)
        return await self.get(task.id)

    # --- chains ---

    async def update_chain(self, task_id: str, changes: Chain) -> Task:
        """Set or clear (None) a task's `on_success` and/or `on_failure` (only the keys given);
        a chain that would loop is refused and changes nothing."""
        task = await self.get(task_id, 0)
        if task.killed:
            raise Conflict(f"task {task.id} was killed: it runs no more")
        chain = {**chain_of(task), **changes}
        await self._check_follow_ups(task.workspace_id, chain)
        check = loop_check(task.orch_id, chain, task.id)
        if not await self.store.call(self.records.set_chain, task.id, changes, check):
            raise Conflict(f"task {task.id} was killed: it runs no more")
        return await self.get(task.id)

    async def _check_follow_ups(self, workspace_id: int, chain: Chain) -> None:
        """Each follow-up names an orchestration of the task's own workspace (a run confined to
        its workspace cannot chain into another)."""
        for key, body in bodies(chain):
            if body.setdefault("workspace_id", workspace_id) != workspace_id:
                raise Invalid(f"'{key}' must run in its task's workspace {workspace_id}, not {body['workspace_id']}")
            orch = await self.orchestrations.get(body["orch_id"])
            if orch.workspace_id != workspace_id:
                raise Invalid(f"'{key}': orchestration {orch.id} belongs to workspace {orch.workspace_id},"
                              f" not {workspace_id}")

    async def _follow_up(self, task: Task, run_id: str) -> None:
        """Start the follow-up a run's final end calls for; once, whichever engines see the end."""
        run = await self.store.call(self.records.get_run, run_id)
        due = follow_up_due(task, run)
        if due is None:
            return
        key, body = due
        try:
            orch = await self.orchestrations.get(body["orch_id"])
            if orch.status != READY:
                raise Conflict(f"orchestration {orch.id} is {orch.status}, not ready")
            await self.runner.queue_and_claim(
                functools.partial(self.records.insert_task, follow_up_task(task, body, run_id), True))
        except Duplicate:
            return  # another engine saw this end and started it
        except EngineError as e:  # e.g. its orchestration was deleted, or the database is unreachable
            log.warning("run %s: %s could not start: %s", run_id, key, e.msg)
            with contextlib.suppress(EngineError):
                await self.logs.note(run_id, task.id, f"{key}: the follow-up could not start: {e.msg}")
            return

    # --- schedule controls: pause and resume, edits, the next fires ---

    async def pause(self, task_id: str, pause: bool) -> Task:
        """Pause a scheduled task (no fire until resumed; a run under way goes on) or resume it
        from now on: the fires that fell while it was paused are not made up."""
        task = await self._live_schedule(task_id, "paused or resumed")
        if pause and task.status != PAUSED:
            await self._change_schedule(task, {}, PAUSED)
        elif not pause and task.status == PAUSED:
            await self._change_schedule(task, {}, STARTED)
        return await self.get(task.id)

    async def update_schedule(self, task_id: str, changes: dict[str, Any]) -> Task:
        """Edit a scheduled task's `schedule`, `tz`, `end_date`, `max_runs`, `json` arguments or
        `timeout` (only the keys given; null clears end_date, max_runs, timeout and tz). Its id,
        runs, logs and fires stay; its next fire is worked out again from now."""
        task = await self._live_schedule(task_id, "edited")
        tz = changes.get("tz", task.tz)
        end = changes.get("end_date", task.end_date)
        ends_at = local_end(end, tz) if isinstance(end, datetime) else None
        schedule = parse_schedule(changes.get("schedule", task.schedule), tz, ends_at)
        fields: dict[str, Any] = {"schedule": schedule.expression, "tz": tz, "end_date": ends_at}
        if "max_runs" in changes:
            fields["max_runs"] = changes["max_runs"]
        if "json" in changes:
            fields["input_data"] = changes["json"] or {}
        if "timeout" in changes:
            fields["timeout"] = changes["timeout"]
        await self._change_schedule(task, fields, task.status)
        return await self.get(task.id)

    async def next_fires(self, task_id: str, count: int) -> builtins.list[datetime]:
        """The task's next `count` fires from now (a paused task's: if it were resumed now)."""
        task = await self.get(task_id, 0)
        if task.run_type != CRONJOB or task.killed or task.status not in (STARTED, PAUSED):
            return []
        now = utcnow()
        armed = await self.store.call(self.records.armed_fires, task.id, now)
        left = await self._runs_left(task)  # the armed fires are counted: they have made their runs
        more = count - len(armed) if left is None else min(count - len(armed), left)
        return (armed + _schedule_of(task).next_fires(armed[-1] if armed else now, more))[:count]

    @staticmethod
    def preview_fires(schedule: str, tz: str | None, end_date: datetime | None, max_runs: int | None,
                      count: int) -> builtins.list[datetime]:
        """The next fires of a schedule not made yet (the sidebar's preview, `task/next_fires`)."""
        ends_at = local_end(end_date, tz) if end_date is not None else None
        limit = count if max_runs is None else min(count, max_runs)
        return parse_schedule(schedule, tz, ends_at).next_fires(utcnow(), limit)

    async def _live_schedule(self, task_id: str, verb: str) -> Task:
        task = await self.get(task_id, 0)
        if task.run_type != CRONJOB:
            raise Invalid(f"task {task.id} is a {task.run_type} task: only scheduled tasks (CronJob) can be {verb}")
        if task.killed or task.status not in (STARTED, PAUSED):
            raise Conflict(f"task {task.id} is {task.status}: its schedule has ended, it cannot be {verb}")
        return task

    async def _change_schedule(self, task: Task, fields: dict[str, Any], status: str) -> None:
        """Write the change and the next fire it gives, then set this engine's timer by it (the
        leader's, through the task event, when another engine leads)."""
        changed = dataclasses.replace(task, **{k: v for k, v in fields.items() if hasattr(task, k)})
        schedule = _schedule_of(changed)
        left = await self._runs_left(changed)
        next_due = schedule.next_after(utcnow()) if status == STARTED and left != 0 else None
        if not await self.store.call(self.records.change_schedule, task.id,
                                     ScheduleChange(fields, next_due, status), task.status):
            raise Conflict(f"task {task.id} changed while it was being changed; look at it again")
        self.scheduler.remove(task.id)
        if status == STARTED and self.leading:
            self.scheduler.add(task.id, schedule, next_due)  # no next fire: the schedule ends

    async def _runs_left(self, task: Task) -> int | None:
        if task.max_runs is None:
            return None
        return max(0, task.max_runs - await self.store.call(self.records.fired_runs, task.id))

    # --- extra runs: run now with overrides, re-runs ---

    async def run_now(self, task_id: str, args: dict[str, Any] | None = None, timeout: float | None = None) -> Run:
        """Run a scheduled task now, beside its schedule, with `args` and `timeout` for this run
        only (the task's own when not given). It queues behind a run under way, as fires do."""
        task = await self.get(task_id, 0)
        if task.run_type != CRONJOB:
            raise Invalid(f"task {task.id} is a {task.run_type} task: run now is for scheduled tasks"
                          " (re-run one of its runs with task/rerun)")
        return await self._extra_run(task, ExtraRun(task.id, args, timeout))

    async def rerun(self, run_id: str) -> Run:
        """Run a finished run again, with the arguments and timeout it ran with: a new run of
        the same task, linked to it (`rerun_of`)."""
        run = await self.store.call(self.records.get_run, run_id)
        if run.status not in RUN_ENDED:
            raise Conflict(f"run {run.run_id} is {run.status}: only a finished run can be re-run")
        task = await self.get(run.task, 0)
        if task.run_type == SERVICE:
            raise Invalid(f"task {task.id} runs continuously: its runs restart by themselves")
        args = run.input_data if run.input_data is not None else task.input_data
        return await self._extra_run(task, ExtraRun(task.id, args, run.timeout, rerun_of=run.run_id))

    async def _extra_run(self, task: Task, extra: ExtraRun) -> Run:
        if task.killed:
            raise Conflict(f"task {task.id} was killed: it runs no more")
        run_id = await self.runner.queue_and_claim(functools.partial(self.records.insert_extra_run, extra))
        return await self.store.call(self.records.get_run, run_id)

    async def runs(self, task_id: str, status: RunFilter = "all", limit: int | None = None) -> builtins.list[Run]:
        task = await self.get(task_id, 0)
        return await self.store.call(self.records.list_runs, task.id, _run_filter(status), limit)

    async def wait_for_runs(
        self, task_id: str, status: RunFilter, limit: int | None, count: int, timeout: float
    ) -> builtins.list[Run]:
        """The runs (as `runs`) once the task has at least `count` of them with that status."""
        task = await self.get(task_id, 0)
        statuses = _run_filter(status)

        async def enough() -> bool:
            return len(await self.store.call(self.records.list_runs, task.id, statuses, count)) >= (count or 1)

        await self.bus.wait_until(
            enough, lambda event: event["kind"] == "run" and event.get("task_id") == task.id, timeout
        )
        return await self.runs(task.id, status, limit)

    async def run_logs(self, run_id: str, lines: int | None = None) -> builtins.list[str]:
        run = await self.store.call(self.records.get_run, run_id)
        return await self.store.call(self.logs.tail, run.run_id, lines)

    # --- the runner's hooks ---

    async def prepare(self, run_id: str, context: RunContext) -> tuple[RunSpec, float | None]:
        run, task, orch, python, unpacked = context
        # An allow-list, never the server's os.environ; the run's own token, never the server's.
        env = {
            **run_variables(run_id, task.extra_env_vars, self.config.run_env),
            TOKEN_ENV: self.credentials.mint(RunGrant(run_id, task.id, task.workspace_id, orch.id)),
        }
        url = self.config.public_url or self.config.server_url
        if url:
            env[URL_ENV] = url
        local = self.runner.executor.local_files
        if python is None and local:  # made by an older release or on another machine: rebuilt
            python = (await self.environments.ensure(orch.requirements, lambda _line: None)).python
        if not unpacked and local:  # packaged by another engine, on another machine
            await self.orchestrations.unpack_here(orch.sha)
        spec = RunSpec(
            run_id=run_id,
            python=python or self.environments.python_for(orch.env_key),
            source=self.orchestrations.unpacked_path(orch.sha),
            entrypoint=orch.entrypoint,
            env=env,
            args=run.input_data if run.input_data is not None else task.input_data,
            orch_id=orch.id,
            orch_sha=orch.sha,
            requirements=normalize_requirements(orch.requirements),
            env_key=orch.env_key,
            kill_grace=self.config.kill_grace_seconds,
        )
        return spec, run.timeout if run.input_data is not None else task.timeout

    def context(self, run_id: str) -> RunContext:
        """The run, its task and orchestration, its environment's interpreter if that exists,
        and whether its tree is unpacked here: read in the trip that claims the run (the looks at
        the files are file work too)."""
        run = self.records.get_run(run_id)
        task = self.records.get_task(run.task, 0)
        orch = self.orchestrations.get_now(task.orch_id)
        python = self.environments.python_for(orch.env_key)
        unpacked = self.orchestrations.unpacked_path(orch.sha).exists()
        return run, task, orch, python if Path(python).exists() else None, unpacked

    def due(self, context: RunContext) -> datetime | None:
        """A fire's run starts its code at its fire time (the scheduler arms it ahead of it)."""
        return context[0].scheduled_for

    async def run_ended(self, task_id: str, run_id: str) -> None:
        self.credentials.revoke(run_id)
        task = await self.get(task_id, 0)
        retrying = await self._retry(task, run_id)
        if not retrying:
            await self._follow_up(task, run_id)
        if task.killed:
            if not await self.store.call(self.records.active_runs, task_id):
                await self.store.call(self.records.set_task_status, task_id, KILLED)
        elif task.run_type == ONESHOT and retrying:
            pass  # the task stays started until its last attempt ends
        elif task.run_type == ONESHOT:
            run = await self.store.call(self.records.get_run, run_id)
            await self.store.call(self.records.set_task_status, task_id, TASK_STATUS_OF_RUN[run.status])
        elif task.run_type == CRONJOB:
            await self._finish_schedule_if_done(task)
        elif not self._stopping and task.status == STARTED:
            await self._restart_later(task, await self.store.call(self.records.get_run, run_id))

    async def _retry(self, task: Task, run_id: str) -> bool:
        """Queue a retry of a failed or timed-out run while the task allows one more: a new
        pending run linked to it (`retry_of`, `attempt`), with the same arguments and timeout,
        that no engine starts before its back-off (`retry_delay` doubling per attempt, plus
        jitter) has passed. Any engine may start it."""
        if task.killed or not task.max_retries or task.run_type == SERVICE:
            return False
        run = await self.store.call(self.records.get_run, run_id)
        if run.status not in RUN_FAILED or run.attempt > task.max_retries:
            return False
        base = task.retry_delay if task.retry_delay is not None else DEFAULT_RETRY_DELAY_S
        delay = min(RETRY_DELAY_CAP_S, base * 2 ** (run.attempt - 1)) * (1 + random.uniform(0, RETRY_JITTER))
        args = run.input_data if run.input_data is not None else task.input_data
        retry = ExtraRun(task.id, args, run.timeout, retry_of=run.run_id, attempt=run.attempt + 1,
                         not_before=utcnow() + timedelta(seconds=delay))
        await self.store.call(self.records.insert_extra_run, retry)
        self._wake_later(delay)
        return True

    # --- schedules and continuous tasks ---

    async def _schedule_ended(self, task_id: str) -> None:
        await self._finish_schedule_if_done(await self.get(task_id, 0))

    async def _finish_schedule_if_done(self, task: Task) -> None:
        if task.status == STARTED and task.next_run_at is None and not await self.store.call(
            self.records.active_runs, task.id
        ):
            await self.store.call(self.records.set_task_status, task.id, SUCCESS)

    async def _restart_later(self, task: Task, last: Run) -> None:
        """Queue the continuous task's next run at once, to start after its back-off: a pending
        run in the database, which any engine may claim, and a kill cancels like any other."""
        quick = last.started_at is None or (utcnow() - last.started_at).total_seconds() < QUICK_RUN_S
        ends = self._quick_ends[task.id] = self._quick_ends.get(task.id, 0) + 1 if quick else 0
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (ends - 1)) if ends else 0.0
        not_before = utcnow() + timedelta(seconds=delay) if delay else None
        await self.store.call(self.records.insert_run, task.id, not_before)
        if delay:
            self._wake_later(delay)
        else:
            self.runner.wake()

    def _wake_later(self, delay: float) -> None:
        def wake() -> None:
            self._wakers.discard(handle)
            self.runner.wake()

        handle = asyncio.get_running_loop().call_later(delay, wake)
        self._wakers.add(handle)

    def _forget_service(self, task_id: str) -> None:
        self._quick_ends.pop(task_id, None)

    # --- recovery and leadership (driven by the coordinator) ---

    async def start(self, alone: bool) -> None:
        """Recover the engines that are gone (with `alone`, every other engine that used this
        database: this one holds it alone), then start claiming runs."""
        self._unsubscribe = self.bus.subscribe(self._on_event)
        await self.recover_dead(alone)
        self.runner.start()

    async def recover_dead(self, everyone_else: bool = False) -> int:
        """Recover the engines whose lease expired; how many there were."""
        seen: set[str] = set()
        while (dead := await self.store.call(self.leases.take_dead, everyone_else)) is not None:
            if dead in seen:
                break
            seen.add(dead)
            await self._recover(dead)
            await self.store.call(self.leases.forget, dead)
        return len(seen)

    async def _recover(self, engine_id: str | None) -> None:
        """End or free the runs of an engine that is gone (None: runs of a release before
        engines), then resume the tasks they belonged to, and settle those whose run it ended
        just before it went."""
        unsettled = [] if engine_id is None else await self.store.call(self.records.unsettled_ends, engine_id)
        refs = await self.store.call(self.records.live_runs_of_engine, engine_id)
        for ref in refs:
            if ref.status == PENDING:
                await self.store.call(self.records.release_claim, ref.run_id, ref.task_id)
                continue
            # A local executor ends only processes that carry the run's marker (none on another
            # machine); a cluster executor ends the run wherever it executes.
            await self.runner.executor.end_orphan(ref.run_id, ref.pid)
            await self.logs.note(ref.run_id, ref.task_id, RESTART_NOTE)
            await self.store.call(self.records.run_ended, ref.run_id, ref.task_id, FAILURE, None,
                                  "the server restarted while the run was running")
            await self._follow_up(await self.get(ref.task_id, 0), ref.run_id)
        for task_id in dict.fromkeys(ref.task_id for ref in refs):
            task = await self.get(task_id, 0)
            if task.status in TASK_ACTIVE and (task.killed or task.run_type != CRONJOB):
                await self._resume(task)
        for task_id, run_id in unsettled:  # what their runs' ends mean was never done
            await self.run_ended(task_id, run_id)
        self.runner.wake()

    async def lead(self) -> None:
        """This engine has become the leader: take over what has no engine, and the schedules
        (fires missed meanwhile follow the missed-fire policy)."""
        self.leading = True
        await self._recover(None)
        for task in await self.store.call(self.records.list_tasks, None, None, None, 0):
            if task.status in TASK_ACTIVE:
                await self._resume(task)

    def unlead(self) -> None:
        self.leading = False
        self.scheduler.stop()

    async def reconcile(self) -> None:
        """The leader's regular look: every live schedule is in its timer (a task made through
        another engine whose event was missed), and no continuous task was left without a run."""
        for task in await self.store.call(self.records.list_tasks, None, None, False, 0):
            if task.run_type == CRONJOB and task.status == STARTED and not self.scheduler.has(task.id):
                await self.scheduler.resume(task.id, _schedule_of(task), task.next_run_at)
        for task_id in await self.store.call(self.records.orphaned_services, RECONCILE_QUIET_S):
            await self.store.call(self.records.insert_run, task_id)
            self.runner.wake()

    async def stop_killed_runs(self) -> None:
        """Stop the runs this engine drives whose task was killed through another engine (the
        `run_kill` event does it at once; this catches one the relay missed)."""
        mine = self.runner.active_run_ids
        if mine:
            for run_id in await self.store.call(self.records.killed_runs, mine):
                self.runner.kill_here(run_id)

    async def lost_lease(self) -> None:
        """Other engines found this one's lease expired and recovered its runs: stop them here."""
        for run_id in self.runner.active_run_ids:
            self.runner.kill_here(run_id)
        self.unlead()

    def _on_event(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "run_kill":
            self.runner.kill_here(event["id"])
        elif kind == "run" and event.get("engine") not in (None, self.engine_id):
            self.runner.wake()  # another engine queued a run or freed a task
        elif kind == "task" and self.leading and event.get("engine") not in (None, self.engine_id):
            self._spawn(self._follow_schedule(event["id"]))

    async def _follow_schedule(self, task_id: str) -> None:
        """A task changed through another engine: the leader's timer follows it."""
        task = await self.get(task_id, 0)
        if task.run_type != CRONJOB:
            return
        self.scheduler.remove(task.id)  # it may have been paused, resumed or edited: follow what it is now
        if not task.killed and task.status == STARTED:
            await self.scheduler.resume(task.id, _schedule_of(task), task.next_run_at)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _resume(self, task: Task) -> None:
        active = await self.store.call(self.records.active_runs, task.id)
        if task.killed:
            if not active:
                await self.store.call(self.records.set_task_status, task.id, KILLED)
        elif task.run_type == ONESHOT:
            if not active:  # its run was failed above
                last = await self.store.call(self.records.list_runs, task.id, None, 1)
                status = TASK_STATUS_OF_RUN[last[0].status] if last else FAILED
                await self.store.call(self.records.set_task_status, task.id, status)
        elif task.run_type == CRONJOB:
            if self.leading:
                await self.scheduler.resume(task.id, _schedule_of(task), task.next_run_at)
        elif not active:
            await self.store.call(self.records.insert_run, task.id)
            self.runner.wake()

    async def stop(self) -> None:
        self._stopping = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.unlead()
        for handle in self._wakers:
            handle.cancel()
        self._wakers.clear()
        self._quick_ends.clear()
        await self.runner.stop()
        await self.logs.stop()
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)


def _schedule_of(task: Task) -> Schedule:
    assert task.schedule is not None
    return parse_schedule(task.schedule, task.tz, task.end_date)


def _run_filter(status: RunFilter) -> tuple[str, ...] | None:
    """A run-status filter: all, ended (any final status), or one status."""
    if status == "all":
        return None
    if status == "ended":
        return RUN_ENDED
    return (status,)
