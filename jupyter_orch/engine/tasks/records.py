"""Rows of the tasks, runs and fires tables as dataclasses, and every write to them.

Each status change is written here and published on the bus here, so every change is
announced exactly once: `task` events carry the task id, `run` events the run id and task id.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import NotFound
from ..events.bus import EventBus
from ..store.database import Store
from ..timeutil import iso, now_iso
from ..validation import require_uuid

ONESHOT, CRONJOB, SERVICE = "Oneshot", "CronJob", "NetworkService"

# Task status
PENDING, STARTED = "pending", "started"
SUCCESS, FAILED, TIMED_OUT = "success", "failed", "timed_out"
PENDING_KILL, KILLED = "pending_kill", "killed"
TASK_TERMINAL = (SUCCESS, FAILED, TIMED_OUT, KILLED)

# Run status (queued runs are `pending`, as their tasks are)
RUNNING, FAILURE = "running", "failure"
RUN_ACTIVE = (PENDING, RUNNING)
RUN_ENDED = (SUCCESS, FAILURE, TIMED_OUT, KILLED)

TASK_SELECT = (
    "SELECT t.*, o.sha AS orch_sha, o.owner_id AS orch_owner_id"
    " FROM tasks t JOIN orchestrations o ON o.id = t.orch_id"
)


@dataclass
class RunSummary:
    run_id: str
    status: str
    created_at: str
    updated_at: str


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
    created_at: str
    updated_at: str
    extra_env_vars: dict[str, str]
    last_runs: list[RunSummary]
    next_run_at: str | None


@dataclass
class Run:
    task: str
    run_id: str
    status: str
    created_at: str
    updated_at: str
    started_at: str | None
    ended_at: str | None
    exit_code: int | None
    error: str | None
    log_lines: int
    log_truncated: bool
    scheduled_for: str | None


@dataclass(frozen=True)
class NewTask:
    name: str | None
    workspace_id: int
    orch_id: str
    run_type: str
    schedule: str | None
    timeout: float | None
    status: str
    input_data: dict[str, Any]
    next_run_at: datetime | None


class TaskRecords:
    def __init__(self, store: Store, bus: EventBus):
        self.store = store
        self.bus = bus

    # --- tasks ---

    def insert_task(self, new: NewTask, with_run: bool) -> tuple[str, str | None]:
        """Insert a task, and its first run when `with_run`, in one transaction."""
        task_id, now = str(uuid.uuid4()), now_iso()
        run_id = str(uuid.uuid4()) if with_run else None
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO tasks (id, name, workspace_id, orch_id, run_type, schedule, timeout,"
                " status, input_data, next_run_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, new.name, new.workspace_id, new.orch_id, new.run_type, new.schedule,
                 new.timeout, new.status, json.dumps(new.input_data), iso(new.next_run_at), now, now),
            )
            if run_id is not None:
                _insert_run(conn, run_id, task_id, None, now)
        self._announce_task(task_id, new.status, new.workspace_id)
        if run_id is not None:
            self._announce_run(run_id, task_id, PENDING)
        return task_id, run_id

    def get_task(self, task_id: object, run_limit: int = 10) -> Task:
        tid = require_uuid(task_id, "id")
        row = self.store.one(f"{TASK_SELECT} WHERE t.id = ?", (tid,))
        if row is None:
            raise NotFound(f"task {tid} does not exist")
        return self._hydrate_tasks([row], run_limit)[0]

    def list_tasks(
        self, workspace_id: int | None, orch_id: str | None, killed: bool | None, run_limit: int
    ) -> list[Task]:
        where, params = [], []
        for column, value in (("t.workspace_id", workspace_id), ("t.orch_id", orch_id), ("t.killed", killed)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.store.all(f"{TASK_SELECT}{clause} ORDER BY t.created_at", params)
        return self._hydrate_tasks(rows, run_limit)

    def task_ids_by_sha(self, sha: str) -> list[str]:
        rows = self.store.all(
            "SELECT t.id FROM tasks t JOIN orchestrations o ON o.id = t.orch_id"
            " WHERE o.sha = ? ORDER BY t.created_at",
            (sha,),
        )
        return [r["id"] for r in rows]

    def set_task_status(self, task_id: str, status: str, **fields: Any) -> None:
        fields = {"status": status, **fields, "updated_at": now_iso()}
        assignments = ", ".join(f"{k} = ?" for k in fields)
        row = self.store.one(
            f"UPDATE tasks SET {assignments} WHERE id = ? RETURNING workspace_id",
            (*fields.values(), task_id),
        )
        if row is not None:
            self._announce_task(task_id, status, row["workspace_id"])

    def set_next_run_at(self, task_id: str, next_run_at: datetime | None) -> None:
        self.store.execute(
            "UPDATE tasks SET next_run_at = ?, updated_at = ? WHERE id = ?",
            (iso(next_run_at), now_iso(), task_id),
        )

    def _hydrate_tasks(self, rows: list[sqlite3.Row], run_limit: int) -> list[Task]:
        recent = self._last_runs([r["id"] for r in rows], run_limit) if run_limit > 0 and rows else {}
        return [_task(r, recent.get(r["id"], [])) for r in rows]

    def _last_runs(self, task_ids: list[str], limit: int) -> dict[str, list[RunSummary]]:
        marks = ", ".join("?" * len(task_ids))
        rows = self.store.all(
            "SELECT task_id, id, status, created_at, updated_at FROM ("
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY created_at DESC, rowid DESC) AS n"
            f" FROM runs WHERE task_id IN ({marks})) WHERE n <= ? ORDER BY task_id, n",
            (*task_ids, limit),
        )
        runs: dict[str, list[RunSummary]] = {}
        for r in rows:
            runs.setdefault(r["task_id"], []).append(
                RunSummary(r["id"], r["status"], r["created_at"], r["updated_at"])
            )
        return runs

    # --- runs ---

    def insert_run(self, task_id: str) -> str:
        run_id, now = str(uuid.uuid4()), now_iso()
        with self.store.transaction() as conn:
            _insert_run(conn, run_id, task_id, None, now)
        self._announce_run(run_id, task_id, PENDING)
        return run_id

    def get_run(self, run_id: object) -> Run:
        rid = require_uuid(run_id, "id")
        row = self.store.one("SELECT * FROM runs WHERE id = ?", (rid,))
        if row is None:
            raise NotFound(f"run {rid} does not exist")
        return _run(row)

    def list_runs(self, task_id: str, statuses: tuple[str, ...] | None, limit: int | None) -> list[Run]:
        sql, params = "SELECT * FROM runs WHERE task_id = ?", [task_id]
        if statuses is not None:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            params.extend(statuses)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_run(r) for r in self.store.all(sql, params)]

    def runs_with_status(self, status: str) -> list[sqlite3.Row]:
        return self.store.all(
            "SELECT id, task_id, pid FROM runs WHERE status = ? ORDER BY created_at, rowid", (status,)
        )

    def active_runs(self, task_id: str) -> list[Run]:
        return self.list_runs(task_id, RUN_ACTIVE, None)

    def run_started(self, run_id: str, task_id: str, pid: int | None) -> None:
        now = now_iso()
        self.store.execute(
            "UPDATE runs SET status = ?, pid = ?, started_at = ?, updated_at = ? WHERE id = ?",
            (RUNNING, pid, now, now, run_id),
        )
        self._announce_run(run_id, task_id, RUNNING)

    def run_ended(self, run_id: str, task_id: str, status: str, exit_code: int | None, error: str | None) -> None:
        now = now_iso()
        self.store.execute(
            "UPDATE runs SET status = ?, exit_code = ?, error = ?, ended_at = ?, updated_at = ?"
            " WHERE id = ?",
            (status, exit_code, error, now, now, run_id),
        )
        self._announce_run(run_id, task_id, status, exit_code=exit_code, error=error)

    # --- fires ---

    def record_fire(
        self, task_id: str, scheduled_at: datetime, next_run_at: datetime | None, outcome: str, with_run: bool
    ) -> str | None:
        """Record one fire of a schedule and move the task's next fire on, in one transaction.

        Returns the new run's id, or None when no run was made (not asked for, or this fire was
        already recorded, e.g. by a process that died after recording it).
        """
        run_id = str(uuid.uuid4()) if with_run else None
        now, at = now_iso(), iso(scheduled_at)
        with self.store.transaction() as conn:
            inserted = conn.execute(
                "INSERT INTO fires (task_id, scheduled_at, run_id, outcome, recorded_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (task_id, at, run_id, outcome, now),
            ).rowcount
            conn.execute(
                "UPDATE tasks SET next_run_at = ?, updated_at = ? WHERE id = ?",
                (iso(next_run_at), now, task_id),
            )
            if inserted and run_id is not None:
                _insert_run(conn, run_id, task_id, at, now)
        if not inserted or run_id is None:
            return None
        self._announce_run(run_id, task_id, PENDING, scheduled_for=at)
        return run_id

    # --- events ---

    def _announce_task(self, task_id: str, status: str, workspace_id: int) -> None:
        self.bus.publish("task", task_id, status=status, workspace_id=workspace_id)

    def _announce_run(self, run_id: str, task_id: str, status: str, **fields: Any) -> None:
        self.bus.publish("run", run_id, task_id=task_id, status=status, **fields)


def _insert_run(conn: sqlite3.Connection, run_id: str, task_id: str, scheduled_for: str | None, now: str) -> None:
    conn.execute(
        "INSERT INTO runs (id, task_id, status, scheduled_for, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, task_id, PENDING, scheduled_for, now, now),
    )


def _task(row: sqlite3.Row, last_runs: list[RunSummary]) -> Task:
    timeout = row["timeout"]
    return Task(
        id=row["id"],
        name=row["name"],
        workspace_id=row["workspace_id"],
        orch_id=row["orch_id"],
        run_type=row["run_type"],
        schedule=row["schedule"],
        timeout=int(timeout) if timeout is not None and float(timeout).is_integer() else timeout,
        status=row["status"],
        input_data=json.loads(row["input_data"]),
        killed=bool(row["killed"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        extra_env_vars={
            "TASK_ID": row["id"],
            "ORCH_ID": row["orch_id"],
            "ORCH_SHA": row["orch_sha"],
            "ORCH_OWNER_ID": row["orch_owner_id"],
        },
        last_runs=last_runs,
        next_run_at=row["next_run_at"],
    )


def _run(row: sqlite3.Row) -> Run:
    return Run(
        task=row["task_id"],
        run_id=row["id"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        exit_code=row["exit_code"],
        error=row["error"],
        log_lines=row["log_lines"],
        log_truncated=bool(row["log_truncated"]),
        scheduled_for=row["scheduled_for"],
    )
