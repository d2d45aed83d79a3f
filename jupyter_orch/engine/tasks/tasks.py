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

On start-up the service recovers what a previous server process left: runs it left running are
ended (their process groups killed) and marked failed with a log line saying why, queued runs
are queued again, schedules resume under the missed-fire policy and continuous tasks restart.
"""

from __future__ import annotations

import asyncio
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, Invalid
from ..events.bus import EventBus
from ..executors.base import RunSpec
from ..executors.local import LocalExecutor
from ..orchestrations.environments import Environments
from ..orchestrations.orchestrations import READY, Orchestrations
from ..store.database import Store
from ..timeutil import parse_time, utcnow
from ..validation import require_int, require_str, require_uuid
from ..workspaces.workspaces import Workspaces
from .records import (
    CRONJOB,
    FAILED,
    FAILURE,
    KILLED,
    ONESHOT,
    PENDING,
    PENDING_KILL,
    RUN_ENDED,
    RUNNING,
    STARTED,
    SUCCESS,
    TASK_TERMINAL,
    TIMED_OUT,
    NewTask,
    Run,
    TaskRecords,
)
from .runlogs import RunLogs
from .runner import Runner
from .scheduler import Scheduler
from .schedules import parse_schedule

if TYPE_CHECKING:
    from ..engine import EngineConfig
    from .records import Task

SERVER_URL_ENV = "JUPYTER_ORCH_URL"
SERVER_TOKEN_ENV = "JUPYTER_ORCH_TOKEN"
TASK_STATUS_OF_RUN = {SUCCESS: SUCCESS, FAILURE: FAILED, TIMED_OUT: TIMED_OUT, KILLED: KILLED}
RUN_STATUS_FILTERS = ("pending", RUNNING, SUCCESS, FAILURE, TIMED_OUT, KILLED)
QUICK_RUN_S = 10.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
RESTART_NOTE = "the server restarted while this run was running; the run was marked failed"
DEFAULT_RUN_LIMIT = 10
RUN_START_WAIT_S = 5.0  # how long task creation waits for a run that got a slot to start


class Tasks:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        workspaces: Workspaces,
        orchestrations: Orchestrations,
        environments: Environments,
        config: EngineConfig,
        runs_root: Path,
    ):
        self.bus = bus
        self.workspaces = workspaces
        self.orchestrations = orchestrations
        self.environments = environments
        self.config = config
        self.records = TaskRecords(store, bus)
        self.logs = RunLogs(store, bus, config.max_log_lines_per_run)
        self.runner = Runner(
            self.records, self.logs, LocalExecutor(runs_root), self,
            config.max_concurrent_runs, config.kill_grace_seconds,
        )
        self.scheduler = Scheduler(
            self.records, self.runner.enqueue, self._schedule_ended,
            config.missed_fire_policy, config.overlap_policy,
        )
        self._quick_ends: dict[str, int] = {}
        self._restarts: dict[str, asyncio.TimerHandle] = {}
        self._stopping = False

    # --- creating, reading, killing ---

    def create(
        self,
        run_type: str,
        workspace_id: object,
        orch_id: object,
        args: object,
        name: object = None,
        timeout: object = None,
        schedule: object = None,
    ) -> Task:
        input_data = _require_args(args)
        seconds = _require_timeout(timeout)
        if name is not None:
            name = require_str(name, "name")
        parsed = parse_schedule(schedule) if run_type == CRONJOB else None
        workspace = self.workspaces.get(workspace_id)
        orch = self.orchestrations.get(orch_id)
        if orch.workspace_id != workspace.id:
            raise Invalid(f"orchestration {orch.id} belongs to workspace {orch.workspace_id}, not {workspace.id}")
        if orch.status != READY:
            detail = f": {orch.error}" if orch.error else "; wait until it is ready"
            raise Conflict(f"orchestration {orch.id} is {orch.status}, not ready{detail}")
        next_due = parsed.next_after(utcnow()) if parsed else None
        status = PENDING if run_type == ONESHOT else STARTED
        if parsed is not None and next_due is None:
            status = SUCCESS  # a schedule that has already ended: nothing will ever run
        new = NewTask(name, workspace.id, orch.id, run_type, parsed.expression if parsed else None,
                      seconds, status, input_data, next_due)
        task_id, run_id = self.records.insert_task(new, with_run=run_type != CRONJOB)
        if run_id is not None:
            self.runner.enqueue(run_id, task_id)
        if parsed is not None and next_due is not None:
            self.scheduler.add(task_id, parsed, next_due)
        return self.get(task_id)

    async def launch(self, run_type: str, **fields: Any) -> Task:
        """Create a task, and when its first run got a slot, answer once that run has started.

        Runs start in milliseconds, so a caller's first look would otherwise catch `pending`,
        and scripts written for the reference poll every few seconds until `started`: by their
        second look a short run has already ended.
        """
        task = self.create(run_type, **fields)
        if task.last_runs and self.runner.admitted(task.last_runs[0].run_id):
            return await self.wait_for(task.id, (STARTED, *TASK_TERMINAL), RUN_START_WAIT_S)
        return task

    def get(self, task_id: object, run_limit: object = None) -> Task:
        return self.records.get_task(task_id, _require_limit(run_limit, "run_limit", DEFAULT_RUN_LIMIT))

    def list(self, workspace_id: object = None, orch_id: object = None, killed: object = None,
             run_limit: object = None) -> list[Task]:
        wid = self.workspaces.get(workspace_id).id if workspace_id is not None else None
        oid = require_uuid(orch_id, "orch_id") if orch_id is not None else None
        if killed is not None and not isinstance(killed, bool):
            raise Invalid("'killed' must be true or false")
        limit = _require_limit(run_limit, "run_limit", DEFAULT_RUN_LIMIT)
        return self.records.list_tasks(wid, oid, killed, limit)

    def ids_by_orch_sha(self, sha: object) -> list[str]:
        return self.records.task_ids_by_sha(require_str(sha, "sha").lower())

    async def wait_for(self, task_id: object, statuses: tuple[str, ...], timeout: float,
                       run_limit: object = None) -> Task:
        task = self.get(task_id, 0)
        await self.bus.wait_for("task", task.id, statuses, lambda: self.get(task.id, 0).status, timeout)
        return self.get(task.id, run_limit)

    def kill(self, task_id: object) -> Task:
        task = self.get(task_id, 0)
        if task.status in TASK_TERMINAL:
            return self.get(task.id)
        self.scheduler.remove(task.id)
        self._forget_service(task.id)
        self.records.set_task_status(task.id, PENDING_KILL, killed=1, next_run_at=None)
        stopping = [not self.runner.kill(r.run_id, task.id) for r in self.records.active_runs(task.id)]
        if not any(stopping):
            self.records.set_task_status(task.id, KILLED)
        return self.get(task.id)

    def runs(self, task_id: object, status: object = None, limit: object = None) -> list[Run]:
        statuses = _run_filter(status)
        most = _require_limit(limit, "limit", None)
        task = self.get(require_uuid(task_id, "task_id"), 0)
        return self.records.list_runs(task.id, statuses, most)

    async def wait_for_runs(
        self, task_id: object, status: object, limit: object, count: object, timeout: float
    ) -> list[Run]:
        """The runs (as `runs`) once the task has at least `count` of them with that status."""
        wanted = _require_limit(count, "wait_for_count", None)
        task = self.get(require_uuid(task_id, "task_id"), 0)
        statuses = _run_filter(status)
        await self.bus.wait_until(
            lambda: len(self.records.list_runs(task.id, statuses, wanted)) >= (wanted or 1),
            lambda event: event["kind"] == "run" and event.get("task_id") == task.id,
            timeout,
        )
        return self.runs(task.id, status, limit)

    def run_logs(self, run_id: object, lines: object = None) -> list[str]:
        tail = _require_limit(lines, "lines", None)
        return self.logs.tail(self.records.get_run(run_id).run_id, tail)

    # --- the runner's hooks ---

    def prepare(self, run_id: str) -> tuple[RunSpec, float | None]:
        run = self.records.get_run(run_id)
        task = self.records.get_task(run.task, 0)
        orch = self.orchestrations.get(task.orch_id)
        env = {
            **os.environ,
            **task.extra_env_vars,
            "RUN_ID": run_id,
            "WALLAROO_TASK_ID": task.id,
            "PYTHONUNBUFFERED": "1",
        }
        if orch.env_key is not None:
            # PYTHONPATH goes before site-packages: it would shadow the requirements' packages.
            env.pop("PYTHONPATH", None)
        if self.config.server_url:
            env[SERVER_URL_ENV] = self.config.server_url
        if self.config.server_token is not None:
            env[SERVER_TOKEN_ENV] = self.config.server_token
        spec = RunSpec(
            run_id=run_id,
            python=self.environments.python_for(orch.env_key),
            source=self.orchestrations.unpacked_path(orch.sha),
            entrypoint=orch.entrypoint,
            env=env,
            args=task.input_data,
        )
        return spec, task.timeout

    def run_started(self, task_id: str, run_id: str) -> None:
        if self.records.get_task(task_id, 0).status == PENDING:
            self.records.set_task_status(task_id, STARTED)

    def run_ended(self, task_id: str, run_id: str) -> None:
        task = self.records.get_task(task_id, 0)
        if task.killed:
            if not self.records.active_runs(task_id):
                self.records.set_task_status(task_id, KILLED)
        elif task.run_type == ONESHOT:
            self.records.set_task_status(task_id, TASK_STATUS_OF_RUN[self.records.get_run(run_id).status])
        elif task.run_type == CRONJOB:
            self._finish_schedule_if_done(task)
        elif not self._stopping:
            self._restart_later(task, self.records.get_run(run_id))

    # --- schedules and continuous tasks ---

    def _schedule_ended(self, task_id: str) -> None:
        self._finish_schedule_if_done(self.records.get_task(task_id, 0))

    def _finish_schedule_if_done(self, task: Task) -> None:
        if task.status == STARTED and task.next_run_at is None and not self.records.active_runs(task.id):
            self.records.set_task_status(task.id, SUCCESS)

    def _restart_later(self, task: Task, last: Run) -> None:
        started = parse_time(last.started_at) if last.started_at else None
        quick = started is None or (utcnow() - started).total_seconds() < QUICK_RUN_S
        ends = self._quick_ends[task.id] = self._quick_ends.get(task.id, 0) + 1 if quick else 0
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (ends - 1)) if ends else 0.0
        loop = asyncio.get_running_loop()
        self._restarts[task.id] = loop.call_later(delay, self._restart, task.id)

    def _restart(self, task_id: str) -> None:
        self._restarts.pop(task_id, None)
        task = self.records.get_task(task_id, 0)
        if not task.killed and task.status == STARTED:
            self.runner.enqueue(self.records.insert_run(task_id), task_id)

    def _forget_service(self, task_id: str) -> None:
        handle = self._restarts.pop(task_id, None)
        if handle is not None:
            handle.cancel()
        self._quick_ends.pop(task_id, None)

    # --- lifecycle ---

    async def start(self) -> None:
        """Recover what a previous server process left, then resume every live task."""
        for row in self.records.runs_with_status(RUNNING):
            await self.runner.executor.end_orphan(row["id"], row["pid"])
            self.logs.note(row["id"], row["task_id"], RESTART_NOTE)
            self.records.run_ended(row["id"], row["task_id"], FAILURE, None,
                                   "the server restarted while the run was running")
        for row in self.records.runs_with_status(PENDING):
            if self.records.get_task(row["task_id"], 0).killed:
                self.records.run_ended(row["id"], row["task_id"], KILLED, None, "killed before it started")
            else:
                self.runner.enqueue(row["id"], row["task_id"])
        for task in self.records.list_tasks(None, None, None, 0):
            if task.status in (PENDING, STARTED, PENDING_KILL):
                self._resume(task)

    def _resume(self, task: Task) -> None:
        active = self.records.active_runs(task.id)
        if task.killed:
            if not active:
                self.records.set_task_status(task.id, KILLED)
        elif task.run_type == ONESHOT:
            if not active:  # its run was failed above
                last = self.records.list_runs(task.id, None, 1)
                self.records.set_task_status(task.id, TASK_STATUS_OF_RUN[last[0].status] if last else FAILED)
        elif task.run_type == CRONJOB:
            due = parse_time(task.next_run_at) if task.next_run_at else None
            self.scheduler.resume(task.id, parse_schedule(task.schedule), due)
        elif not active:
            self.runner.enqueue(self.records.insert_run(task.id), task.id)

    async def stop(self) -> None:
        self._stopping = True
        self.scheduler.stop()
        for task_id in list(self._restarts):
            self._forget_service(task_id)
        await self.runner.stop()


def _require_args(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("'json' must be a JSON object (use {} for no arguments)")
    return value


def _require_timeout(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise Invalid(f"'timeout' must be a positive number of seconds, got {value!r}")
    return float(value)


def _require_limit(value: object, field: str, default: int | None) -> int | None:
    if value is None:
        return default
    number = require_int(value, field)
    if number < 0:
        raise Invalid(f"'{field}' must not be negative")
    return number


def _run_filter(status: object) -> tuple[str, ...] | None:
    """A run-status filter: all, ended (any final status), or one status."""
    if status is None or status == "all":
        return None
    if status == "ended":
        return RUN_ENDED
    if status in RUN_STATUS_FILTERS:
        return (str(status),)
    raise Invalid(f"'status' must be one of all, ended, {', '.join(RUN_STATUS_FILTERS)}")
