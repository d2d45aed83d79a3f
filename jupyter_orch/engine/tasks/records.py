"""Rows of the tasks, runs and fires tables as dataclasses, and every write to them.

Everything here runs in the store's thread pool (callers use `store.call`). Each status change is
written here and published on the bus here, so every change is announced exactly once: `task`
events carry the task id, `run` events the run id and task id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from ...constants import (
    CRONJOB,
    FAILED,
    FAILURE,
    KILLED,
    ONESHOT,
    PENDING,
    PENDING_KILL,
    RUN_ACTIVE,
    RUN_ENDED,
    RUN_FAILED,
    RUN_SKIPPED,
    RUNNING,
    SERVICE,
    STARTED,
    SUCCESS,
    TASK_ACTIVE,
    TASK_TERMINAL,
    TIMED_OUT,
    RunType,
)
from ..errors import NotFound
from ..events.bus import EventBus
from ..paging import Page, PageRequest, page_of, paged
from ..store import schema as t
from ..store.database import Store
from ..timeutil import utcnow
from .variables import task_variables

__all__ = [
    "CRONJOB", "FAILED", "FAILURE", "KILLED", "ONESHOT", "PENDING", "PENDING_KILL", "RUNNING", "RUN_ACTIVE",
    "RUN_ENDED", "SERVICE", "STARTED", "SUCCESS", "TASK_TERMINAL", "TIMED_OUT", "ExtraRun", "Fire", "NewTask", "Run",
    "RunSummary", "ScheduleChange", "Task", "TaskRecords",
]

# What a fire did, as recorded in `fires`: made a run, made a skipped run (overlap), or none (missed).
RAN, SKIPPED_OVERLAP, MISSED = "run", "skipped_overlap", "missed"
KILLED_BEFORE_START = "killed before it started"
OVERLAP_NOTE = "skipped: the previous run was still running (overlap_policy)"
DUPLICATE, NOT_LEADER = "duplicate", "not_leader"  # fires not recorded: already were, or not ours


@dataclass
class RunSummary:
    run_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    attempt: int = 1


@dataclass
class Task:
    id: str
    name: str | None
    workspace_id: int
    orch_id: str
    run_type: str
    schedule: str | None
    timeout: float | None
    status: str
    input_data: dict[str, Any]
    killed: bool
    created_at: datetime
    updated_at: datetime
    extra_env_vars: dict[str, str]
    last_runs: list[RunSummary]
    next_run_at: datetime | None
    tz: str | None = None
    end_date: datetime | None = None
    max_runs: int | None = None
    max_retries: int | None = None
    retry_delay: float | None = None
    on_success: dict[str, Any] | None = None  # follow-ups (tasks/chains.py): run-once bodies
    on_failure: dict[str, Any] | None = None
    upstream_run_id: str | None = None  # the run whose end started this task


@dataclass
class Run:
    task: str
    run_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    error: str | None
    log_lines: int
    log_truncated: bool
    scheduled_for: datetime | None
    engine_id: str | None
    worker: str | None  # the cluster worker it ran on; None: its engine's machine
    input_data: dict[str, Any] | None = None  # the arguments it ran with (None: its task's)
    timeout: float | None = None
    rerun_of: str | None = None
    retry_of: str | None = None
    attempt: int = 1
    follow_up_task_id: str | None = None  # the task its end started (its task's on_success/on_failure)


@dataclass(frozen=True)
class ExtraRun:
    """A run asked for beside a task's own: run-now with overrides, or a re-run of a run."""

    task_id: str
    args: dict[str, Any] | None  # None: the task's arguments now
    timeout: float | None
    rerun_of: str | None = None
    retry_of: str | None = None  # a retry: the failed run, its attempt, and when it may start
    attempt: int | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class NewTask:
    name: str | None
    workspace_id: int
    orch_id: str
    run_type: RunType
    schedule: str | None
    timeout: float | None
    status: str
    input_data: dict[str, Any]
    next_run_at: datetime | None
    tz: str | None = None
    end_date: datetime | None = None
    max_runs: int | None = None
    max_retries: int | None = None
    retry_delay: float | None = None
    on_success: dict[str, Any] | None = None
    on_failure: dict[str, Any] | None = None
    upstream_run_id: str | None = None


@dataclass(frozen=True)
class ScheduleChange:
    """New values of a scheduled task's fields (only those given), and its next fire."""

    fields: dict[str, Any]
    next_run_at: datetime | None
    status: str


@dataclass(frozen=True)
class Fire:
    task_id: str
    scheduled_at: datetime
    next_run_at: datetime | None
    skip_if_busy: bool
    queue_behind: bool
    missed: bool = False  # fell while no engine could fire, and the policy does not run it


@dataclass(frozen=True)
class RunRef:
    run_id: str
    task_id: str
    pid: int | None
    status: str


RUN_ORDER = (t.runs.c.created_at.desc(), t.runs.c.number.desc())
TASK_KEYS = ((t.tasks.c.created_at, False), (t.tasks.c.id, False))  # paging keys: oldest first
RUN_KEYS = ((t.runs.c.created_at, True), (t.runs.c.number, True), (t.runs.c.id, True))  # newest first


class TaskRecords:
    def __init__(self, store: Store, bus: EventBus):
        self.store = store
        self.bus = bus

    # --- tasks ---

    def insert_task(
        self, new: NewTask, with_run: bool, check: Callable[[Connection], None] | None = None
    ) -> tuple[str, str | None]:
        """Insert a task, and its first run when `with_run`, in one transaction (after `check`,
        which may refuse it). A follow-up task (`upstream_run_id`) is also written on its
        upstream run; a second follow-up of one run raises IntegrityError, writing nothing."""
        task_id, now = str(uuid.uuid4()), utcnow()
        run_id = str(uuid.uuid4()) if with_run else None
        with self.store.write() as db:
            if check is not None:
                check(db)
            # Parameters, not .values(): the statement compiles once, not its 20 values each time.
            db.execute(insert(t.tasks), dict(
                id=task_id, name=new.name, workspace_id=new.workspace_id, orch_id=new.orch_id,
                run_type=new.run_type, schedule=new.schedule, timeout=new.timeout, status=new.status,
                input_data=new.input_data, killed=False, next_run_at=new.next_run_at, created_at=now, updated_at=now,
                tz=new.tz, end_date=new.end_date, max_runs=new.max_runs, max_retries=new.max_retries,
                retry_delay=new.retry_delay, on_success=new.on_success, on_failure=new.on_failure,
                upstream_run_id=new.upstream_run_id,
            ))
            if run_id is not None:
                _insert_run(db, run_id, task_id, None, now)
            if new.upstream_run_id is not None:
                db.execute(update(t.runs).where(t.runs.c.id == new.upstream_run_id)
                           .values(follow_up_task_id=task_id))
        self._announce_task(task_id, new.status, new.workspace_id)
        if run_id is not None:
            self._announce_run(run_id, task_id, PENDING)
        return task_id, run_id

    def get_task(self, task_id: str, run_limit: int = 10) -> Task:
        with self.store.read() as db:
            rows = db.execute(_TASK_BY_ID, {"task_id": task_id}).all()
            if not rows:
                raise NotFound(f"task {task_id} does not exist")
            return _hydrate_tasks(db, rows, run_limit)[0]

    def list_tasks(
        self, workspace_id: int | None, orch_id: str | None, killed: bool | None, run_limit: int
    ) -> list[Task]:
        query = _filtered_tasks(workspace_id, orch_id, killed).order_by(t.tasks.c.created_at)
        with self.store.read() as db:
            return _hydrate_tasks(db, db.execute(query).all(), run_limit)

    def page_tasks(
        self, workspace_id: int | None, orch_id: str | None, killed: bool | None, run_limit: int, page: PageRequest
    ) -> Page[Task]:
        query = paged(_filtered_tasks(workspace_id, orch_id, killed), TASK_KEYS, page)
        with self.store.read() as db:
            rows = page_of(db.execute(query).all(), TASK_KEYS, page, lambda row: row)
            return Page(_hydrate_tasks(db, rows.items, run_limit), rows.cursor)

    def task_ids_by_sha(self, sha: str) -> list[str]:
        query = (
            select(t.tasks.c.id).join(t.orchestrations, t.orchestrations.c.id == t.tasks.c.orch_id)
            .where(t.orchestrations.c.sha == sha).order_by(t.tasks.c.created_at)
        )
        with self.store.read() as db:
            return list(db.scalars(query))

    def set_task_status(self, task_id: str, status: str, **fields: Any) -> None:
        values = {"status": status, **fields, "updated_at": utcnow()}
        with self.store.write() as db:
            workspace_id = db.scalar(
                update(t.tasks).where(t.tasks.c.id == task_id).values(**values).returning(t.tasks.c.workspace_id)
            )
        if workspace_id is not None:
            self._announce_task(task_id, status, workspace_id)

    def change_schedule(self, task_id: str, change: ScheduleChange, expected_status: str) -> bool:
        """Write a schedule edit (or a pause/resume) while the task still has `expected_status`
        and lives; False when it changed meanwhile. The task's runs and fires stay."""
        values = {**change.fields, "status": change.status, "next_run_at": change.next_run_at, "updated_at": utcnow()}
        with self.store.write() as db:
            workspace_id = db.scalar(
                update(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.status == expected_status,
                                      t.tasks.c.killed.is_(False))
                .values(**values).returning(t.tasks.c.workspace_id)
            )
        if workspace_id is None:
            return False
        self._announce_task(task_id, change.status, workspace_id)
        return True

    def set_chain(self, task_id: str, fields: dict[str, Any], check: Callable[[Connection], None]) -> bool:
        """Write a task's new `on_success`/`on_failure` (after `check`, which may refuse them)
        while it lives; False when it was killed."""
        with self.store.write() as db:
            check(db)
            row = db.execute(
                update(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.killed.is_(False))
                .values(**fields, updated_at=utcnow()).returning(t.tasks.c.workspace_id, t.tasks.c.status)
            ).first()
        if row is None:
            return False
        self._announce_task(task_id, row.status, row.workspace_id)
        return True

    def fired_runs(self, task_id: str) -> int:
        """How many runs the task's schedule has made (what `max_runs` counts)."""
        with self.store.read() as db:
            return _fired_runs(db, task_id)

    def armed_fires(self, task_id: str, now: datetime) -> list[datetime]:
        """The fires recorded ahead of their time (`scheduler.FIRE_LEAD`) whose runs are still to come."""
        with self.store.read() as db:
            return list(db.scalars(select(t.fires.c.scheduled_at).where(
                t.fires.c.task_id == task_id, t.fires.c.outcome == RAN, t.fires.c.scheduled_at > now,
            ).order_by(t.fires.c.scheduled_at)))

    def set_next_run_at(self, task_id: str, next_run_at: datetime | None) -> None:
        with self.store.write() as db:
            db.execute(update(t.tasks).where(t.tasks.c.id == task_id)
                       .values(next_run_at=next_run_at, updated_at=utcnow()))

    # --- runs ---

    def insert_run(self, task_id: str, not_before: datetime | None = None) -> str:
        run_id = str(uuid.uuid4())
        with self.store.write() as db:
            _insert_run(db, run_id, task_id, None, utcnow(), not_before)
        self._announce_run(run_id, task_id, PENDING)
        return run_id

    def insert_extra_run(self, extra: ExtraRun) -> str:
        """Queue an extra run of a live task; a run-once task that had ended is `pending` again
        (its status follows this run, as it followed its first)."""
        run_id, now = str(uuid.uuid4()), utcnow()
        with self.store.write() as db:
            workspace_id = db.scalar(
                update(t.tasks).where(t.tasks.c.id == extra.task_id, t.tasks.c.run_type == ONESHOT,
                                      t.tasks.c.status.in_(TASK_TERMINAL), t.tasks.c.killed.is_(False))
                .values(status=PENDING, updated_at=now).returning(t.tasks.c.workspace_id)
            )
            _insert_run(db, run_id, extra.task_id, None, now, extra.not_before, args=extra.args,
                        timeout=extra.timeout, rerun_of=extra.rerun_of, retry_of=extra.retry_of, attempt=extra.attempt)
        if workspace_id is not None:
            self._announce_task(extra.task_id, PENDING, workspace_id)
        self._announce_run(run_id, extra.task_id, PENDING)
        return run_id

    def get_run(self, run_id: str) -> Run:
        with self.store.read() as db:
            row = db.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id} does not exist")
        return _run(row)

    def list_runs(self, task_id: str, statuses: tuple[str, ...] | None, limit: int | None) -> list[Run]:
        query = select(t.runs).where(t.runs.c.task_id == task_id).order_by(*RUN_ORDER)
        if statuses is not None:
            query = query.where(t.runs.c.status.in_(statuses))
        if limit is not None:
            query = query.limit(limit)
        with self.store.read() as db:
            return [_run(r) for r in db.execute(query)]

    def page_runs(self, task_id: str, statuses: tuple[str, ...] | None, page: PageRequest) -> Page[Run]:
        query = select(t.runs).where(t.runs.c.task_id == task_id)
        if statuses is not None:
            query = query.where(t.runs.c.status.in_(statuses))
        with self.store.read() as db:
            return page_of(db.execute(paged(query, RUN_KEYS, page)).all(), RUN_KEYS, page, _run)

    def running_run_ids(self) -> set[str]:
        """Every run recorded running, whichever engine drives it."""
        with self.store.read() as db:
            return set(db.scalars(select(t.runs.c.id).where(t.runs.c.status == RUNNING)))

    def live_runs_of_engine(self, engine_id: str | None) -> list[RunRef]:
        """The runs an engine claimed that have not ended (engine None: runs running with no
        engine, left by a release before engines had ids)."""
        runs = t.runs
        owner = runs.c.engine_id.is_(None) if engine_id is None else runs.c.engine_id == engine_id
        statuses = (RUNNING,) if engine_id is None else RUN_ACTIVE
        query = (select(runs.c.id, runs.c.task_id, runs.c.pid, runs.c.status)
                 .where(owner, runs.c.status.in_(statuses)).order_by(runs.c.created_at, runs.c.number))
        with self.store.read() as db:
            return [RunRef(r.id, r.task_id, r.pid, r.status) for r in db.execute(query)]

    def claim_runs(self, engine_id: str, limit: int) -> list[tuple[str, str]]:
        """Claim up to `limit` pending runs for this engine, oldest first: of each task only its
        oldest pending run, and only while no other run of it is claimed (the `runs_one_claimed`
        index makes that a guarantee across engines). Rows other engines are claiming are
        skipped, not waited for. Returns (run id, task id) pairs."""
        runs, values = t.runs, {"now": utcnow(), "limit": limit}
        claimed: list[tuple[str, str]] = []
        if self.store.dialect == "sqlite":  # one engine: a read says whether a write is needed
            with self.store.read() as db:
                if not db.execute(_CLAIMABLE, values).first():
                    return claimed
        with self.store.write() as db:
            for run_id, task_id in db.execute(_CLAIMABLE, values).all():
                try:
                    with db.begin_nested():
                        db.execute(update(runs).where(runs.c.id == run_id, runs.c.engine_id.is_(None))
                                   .values(engine_id=engine_id))
                except IntegrityError:  # another engine claimed a run of this task meanwhile
                    continue
                claimed.append((run_id, task_id))
        return claimed

    def release_claim(self, run_id: str, task_id: str) -> None:
        """A claimed run that never started (its engine died) goes back to the queue for any
        engine. If its task was killed meanwhile, the kill found no engine to stop the run and
        no engine claims a killed task's runs: the run ends killed instead. The task's row is
        locked first, so a kill under way either sees the run released or is seen here."""
        now = utcnow()
        with self.store.write() as db:
            killed = db.scalar(select(t.tasks.c.killed).where(t.tasks.c.id == task_id).with_for_update())
            ended = {"status": KILLED, "error": KILLED_BEFORE_START, "ended_at": now} if killed else {}
            done = db.execute(update(t.runs).where(t.runs.c.id == run_id, t.runs.c.status == PENDING)
                              .values(engine_id=None, updated_at=now, **ended)).rowcount
        if done and killed:
            self._announce_run(run_id, task_id, KILLED, exit_code=None, error=KILLED_BEFORE_START)

    def cancel_unclaimed(self, run_id: str, task_id: str) -> bool:
        """Kill a run no engine has claimed. False when one has (its engine must stop it)."""
        now = utcnow()
        with self.store.write() as db:
            done = db.execute(update(t.runs).where(
                t.runs.c.id == run_id, t.runs.c.status == PENDING, t.runs.c.engine_id.is_(None)
            ).values(status=KILLED, error=KILLED_BEFORE_START, ended_at=now, updated_at=now)).rowcount
        if done:
            self._announce_run(run_id, task_id, KILLED, exit_code=None, error=KILLED_BEFORE_START)
        return bool(done)

    def unsettled_ends(self, engine_id: str) -> list[tuple[str, str]]:
        """(task id, run id) of the tasks an engine left unsettled: the task's last run, which
        that engine drove, has ended, and no run of it is active, yet the task is in a state
        only a run's end moves it out of (the engine died between a run's end and what the end
        means for its task: its status, a retry, a follow-up). That is a killed task, a run-once
        task, and a schedule that has no next fire or whose run failed with retries to come.
        Continuous tasks that live are left to the leader's look for orphaned services."""
        runs, tasks = t.runs, t.tasks
        later, live = runs.alias("later"), runs.alias("live")
        waits_for_an_end = (
            tasks.c.killed.is_(True) | (tasks.c.run_type == ONESHOT)
            | ((tasks.c.run_type == CRONJOB)
               & (tasks.c.next_run_at.is_(None) | (runs.c.status.in_(RUN_FAILED) & (tasks.c.max_retries > 0))))
        )
        query = (
            select(runs.c.task_id, runs.c.id).join(tasks, tasks.c.id == runs.c.task_id)
            .where(
                runs.c.engine_id == engine_id, runs.c.status.not_in(RUN_ACTIVE),
                tasks.c.status.in_(TASK_ACTIVE), waits_for_an_end,
                ~select(later.c.id).where(later.c.task_id == runs.c.task_id, later.c.number > runs.c.number).exists(),
                ~select(live.c.id).where(live.c.task_id == runs.c.task_id, live.c.status.in_(RUN_ACTIVE)).exists(),
            )
            .order_by(runs.c.created_at, runs.c.number)
        )
        with self.store.read() as db:
            return [(r.task_id, r.id) for r in db.execute(query)]

    def orphaned_services(self, quiet_for: float) -> list[str]:
        """Continuous tasks that live but have had no run pending or running for `quiet_for`
        seconds: an engine died between a run's end and its restart."""
        runs, tasks = t.runs, t.tasks
        since = utcnow() - timedelta(seconds=quiet_for)
        query = select(tasks.c.id).where(
            tasks.c.run_type == SERVICE, tasks.c.status == STARTED, tasks.c.killed.is_(False),
            tasks.c.updated_at < since,
            ~select(runs.c.id).where(runs.c.task_id == tasks.c.id, runs.c.status.in_(RUN_ACTIVE)).exists(),
            ~select(runs.c.id).where(runs.c.task_id == tasks.c.id, runs.c.ended_at >= since).exists(),
        )
        with self.store.read() as db:
            return list(db.scalars(query))

    def killed_runs(self, run_ids: list[str]) -> list[str]:
        """Those of `run_ids` whose task has been killed."""
        query = (select(t.runs.c.id).join(t.tasks, t.tasks.c.id == t.runs.c.task_id)
                 .where(t.runs.c.id.in_(run_ids), t.tasks.c.killed.is_(True)))
        with self.store.read() as db:
            return list(db.scalars(query))

    def active_runs(self, task_id: str) -> list[Run]:
        return self.list_runs(task_id, RUN_ACTIVE, None)

    def run_started(self, run_id: str, task_id: str, pid: int | None, worker: str | None = None) -> None:
        """The run is running; its task, if it was waiting for its first run, is `started`."""
        now = utcnow()
        with self.store.write() as db:
            db.execute(update(t.runs).where(t.runs.c.id == run_id)
                       .values(status=RUNNING, pid=pid, worker=worker, started_at=now, updated_at=now))
            workspace_id = db.scalar(
                update(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.status == PENDING)
                .values(status=STARTED, updated_at=now).returning(t.tasks.c.workspace_id)
            )
        self._announce_run(run_id, task_id, RUNNING, engine_id=self.bus.engine_id, worker=worker)
        if workspace_id is not None:
            self._announce_task(task_id, STARTED, workspace_id)

    def run_located(self, run_id: str, pid: int) -> None:
        """The pid of a running run's first process (recorded once it runs: nothing waits for it)."""
        with self.store.write() as db:
            db.execute(update(t.runs).where(t.runs.c.id == run_id, t.runs.c.status == RUNNING).values(pid=pid))

    def run_ended(self, run_id: str, task_id: str, status: str, exit_code: int | None, error: str | None) -> None:
        """Record a run's end; a run that has already ended keeps its first end."""
        now = utcnow()
        with self.store.write() as db:
            done = db.execute(update(t.runs).where(t.runs.c.id == run_id, t.runs.c.status.in_(RUN_ACTIVE))
                              .values(status=status, exit_code=exit_code, error=error, ended_at=now,
                                      updated_at=now)).rowcount
        if done:
            self._announce_run(run_id, task_id, status, exit_code=exit_code, error=error)

    # --- fires ---

    def record_fire(
        self, fire: Fire, leader: Callable[[Connection], bool], engine_id: str,
    ) -> tuple[str, str | None, bool]:
        """Record one fire of a schedule and move the task's next fire on, in one transaction,
        only while this engine is the leader (`leader` looks, holding the lease row until the
        transaction ends) and the task lives.

        With `skip_if_busy`, a fire while the task has an active run is recorded as skipped (when
        `queue_behind`, only while a run already waits behind the running one). Returns what the
        fire did (RAN, SKIPPED_OVERLAP, DUPLICATE: already recorded, e.g. by a process that died
        after recording it, NOT_LEADER: nothing written), the new run's id, and whether the
        schedule has now made its `max_runs` runs (then its next fire is none).
        """
        now, task_id = utcnow(), fire.task_id
        with self.store.write() as db:
            if not leader(db):
                return NOT_LEADER, None, False
            live = db.execute(select(t.tasks.c.max_runs).where(
                t.tasks.c.id == task_id, t.tasks.c.killed.is_(False), t.tasks.c.status == STARTED
            )).first()
            if live is None:
                return DUPLICATE, None, False
            max_runs = live.max_runs
            db.execute(update(t.tasks).where(t.tasks.c.id == task_id)
                       .values(next_run_at=fire.next_run_at, updated_at=now))
            if db.scalar(select(func.count()).select_from(t.fires).where(
                t.fires.c.task_id == task_id, t.fires.c.scheduled_at == fire.scheduled_at
            )):
                return DUPLICATE, None, False
            run_id: str | None = None if fire.missed else str(uuid.uuid4())
            outcome = MISSED if fire.missed else RAN
            if run_id is not None and fire.skip_if_busy and _busy(db, task_id, fire.queue_behind):
                outcome = SKIPPED_OVERLAP
            db.execute(insert(t.fires).values(
                task_id=task_id, scheduled_at=fire.scheduled_at, run_id=run_id, outcome=outcome, recorded_at=now,
                engine_id=engine_id,
            ))
            if run_id is not None:
                _insert_run(db, run_id, task_id, fire.scheduled_at, now)
            if outcome == SKIPPED_OVERLAP:  # a run of its own, so the run list shows the skip
                db.execute(update(t.runs).where(t.runs.c.id == run_id).values(
                    status=RUN_SKIPPED, error=OVERLAP_NOTE, ended_at=now, engine_id=engine_id,
                ))
            exhausted = max_runs is not None and _fired_runs(db, task_id) >= max_runs
            if exhausted:
                db.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(next_run_at=None))
        if run_id is not None:
            status = RUN_SKIPPED if outcome == SKIPPED_OVERLAP else PENDING
            self._announce_run(run_id, task_id, status, scheduled_for=fire.scheduled_at)
        return outcome, run_id, exhausted

    # --- events ---

    def _announce_task(self, task_id: str, status: str, workspace_id: int) -> None:
        self.bus.publish("task", task_id, status=status, workspace_id=workspace_id)

    def _announce_run(self, run_id: str, task_id: str, status: str, **fields: Any) -> None:
        self.bus.publish("run", run_id, task_id=task_id, status=status, **fields)


def _fired_runs(db: Connection, task_id: str) -> int:
    return int(db.scalar(select(func.count()).select_from(t.fires).where(
        t.fires.c.task_id == task_id, t.fires.c.outcome == RAN
    )) or 0)


def _busy(db: Connection, task_id: str, queue_behind: bool) -> bool:
    statuses = (PENDING,) if queue_behind else RUN_ACTIVE
    where: ColumnElement[bool] = (t.runs.c.task_id == task_id) & t.runs.c.status.in_(statuses)
    return bool(db.scalar(select(func.count()).select_from(t.runs).where(where)))


def _insert_run(
    db: Connection, run_id: str, task_id: str, scheduled_for: datetime | None, now: datetime,
    not_before: datetime | None = None, *, args: dict[str, Any] | None = None, timeout: float | None = None,
    rerun_of: str | None = None, retry_of: str | None = None, attempt: int | None = None,
) -> None:
    """Insert a pending run with its own copy of its arguments and timeout (the task's now,
    unless given), so an edit of the task or a re-run never changes what a run ran with."""
    number = select(func.coalesce(func.max(t.runs.c.number), 0) + 1).where(t.runs.c.task_id == task_id)

    def of_task(column: Any) -> Any:  # (a subquery of the whole row would cost its 20 columns' proxies)
        return select(column).where(t.tasks.c.id == task_id).scalar_subquery()

    db.execute(insert(t.runs).values(
        id=run_id, task_id=task_id, number=number.scalar_subquery(), status=PENDING, scheduled_for=scheduled_for,
        log_lines=0, log_truncated=False, created_at=now, updated_at=now, not_before=not_before,
        input_data=args if args is not None else of_task(t.tasks.c.input_data),
        timeout=timeout if timeout is not None else of_task(t.tasks.c.timeout),
        rerun_of=rerun_of, retry_of=retry_of, attempt=attempt,
    ))


def _filtered_tasks(workspace_id: int | None, orch_id: str | None, killed: bool | None) -> Any:
    query = _task_query()
    for column, value in ((t.tasks.c.workspace_id, workspace_id), (t.tasks.c.orch_id, orch_id),
                          (t.tasks.c.killed, killed)):
        if value is not None:
            query = query.where(column == value)
    return query


def _task_query() -> Any:
    return select(t.tasks, t.orchestrations.c.sha.label("orch_sha"),
                  t.orchestrations.c.owner_id.label("orch_owner_id")).join(
        t.orchestrations, t.orchestrations.c.id == t.tasks.c.orch_id
    )


def _hydrate_tasks(db: Connection, rows: Sequence[Row[Any]], run_limit: int) -> list[Task]:
    recent = _last_runs(db, [r.id for r in rows], run_limit) if run_limit > 0 and rows else {}
    return [_task(r, recent.get(r.id, [])) for r in rows]


def _last_runs_query() -> Any:
    rank = func.row_number().over(partition_by=t.runs.c.task_id, order_by=RUN_ORDER).label("n")
    ranked = (select(t.runs.c.task_id, t.runs.c.id, t.runs.c.status, t.runs.c.created_at, t.runs.c.updated_at,
                     t.runs.c.attempt, rank)
              .where(t.runs.c.task_id.in_(bindparam("task_ids", expanding=True))).subquery())
    return select(ranked).where(ranked.c.n <= bindparam("limit")).order_by(ranked.c.task_id, ranked.c.n)


def _claimable_query() -> Any:
    """Pending runs an engine may claim (see TaskRecords.claim_runs), oldest first."""
    runs, older, live = t.runs, t.runs.alias("older"), t.runs.alias("live")
    return (
        select(runs.c.id, runs.c.task_id).join(t.tasks, t.tasks.c.id == runs.c.task_id)
        .where(
            runs.c.status == PENDING, runs.c.engine_id.is_(None), t.tasks.c.killed.is_(False),
            runs.c.not_before.is_(None) | (runs.c.not_before <= bindparam("now")),
            ~select(older.c.id).where(older.c.task_id == runs.c.task_id, older.c.status == PENDING,
                                      older.c.number < runs.c.number).exists(),
            ~select(live.c.id).where(live.c.task_id == runs.c.task_id, live.c.engine_id.is_not(None),
                                     live.c.status.in_(RUN_ACTIVE)).exists(),
        )
        .order_by(runs.c.created_at, runs.c.number).limit(bindparam("limit"))
        .with_for_update(of=runs, skip_locked=True)
    )


# Built once: building a statement with a subquery or an alias costs more than running it
# (SQLAlchemy derives its columns each time), and every get_by_id and run start runs these.
_TASK_BY_ID = _task_query().where(t.tasks.c.id == bindparam("task_id"))
_LAST_RUNS = _last_runs_query()
_CLAIMABLE = _claimable_query()


def _last_runs(db: Connection, task_ids: list[str], limit: int) -> dict[str, list[RunSummary]]:
    runs: dict[str, list[RunSummary]] = {}
    for r in db.execute(_LAST_RUNS, {"task_ids": task_ids, "limit": limit}):
        runs.setdefault(r.task_id, []).append(RunSummary(r.id, r.status, r.created_at, r.updated_at, r.attempt or 1))
    return runs


def _task(row: Row[Any], last_runs: list[RunSummary]) -> Task:
    timeout = row.timeout
    return Task(
        id=row.id,
        name=row.name,
        workspace_id=row.workspace_id,
        orch_id=row.orch_id,
        run_type=row.run_type,
        schedule=row.schedule,
        timeout=int(timeout) if timeout is not None and float(timeout).is_integer() else timeout,
        status=row.status,
        input_data=row.input_data,
        killed=row.killed,
        created_at=row.created_at,
        updated_at=row.updated_at,
        extra_env_vars=task_variables(row.id, row.orch_id, row.orch_sha, row.orch_owner_id),
        last_runs=last_runs,
        next_run_at=row.next_run_at,
        tz=row.tz,
        end_date=row.end_date,
        max_runs=row.max_runs,
        max_retries=row.max_retries,
        retry_delay=row.retry_delay,
        on_success=row.on_success,
        on_failure=row.on_failure,
        upstream_run_id=row.upstream_run_id,
    )


def _run(row: Row[Any]) -> Run:
    return Run(
        task=row.task_id,
        run_id=row.id,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        exit_code=row.exit_code,
        error=row.error,
        log_lines=row.log_lines,
        log_truncated=row.log_truncated,
        scheduled_for=row.scheduled_for,
        engine_id=row.engine_id,
        worker=row.worker,
        input_data=row.input_data,
        timeout=row.timeout,
        rerun_of=row.rerun_of,
        retry_of=row.retry_of,
        attempt=row.attempt or 1,
        follow_up_task_id=row.follow_up_task_id,
    )
