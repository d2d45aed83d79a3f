"""SQLite store: one connection, WAL, busy timeout, forward-only schema migrations.

The engine is the single writer; a lock serialises access from the event loop and worker
threads. Each migration is applied once, in order, and recorded in PRAGMA user_version.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: the whole domain
    """
    CREATE TABLE workspaces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE environments (
        key TEXT PRIMARY KEY,
        requirements TEXT NOT NULL,
        path TEXT NOT NULL,
        status TEXT NOT NULL,
        log TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE orchestrations (
        id TEXT PRIMARY KEY,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        sha TEXT NOT NULL,
        name TEXT,
        file_name TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        status TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        requirements TEXT NOT NULL DEFAULT '',
        env_key TEXT,
        packaging_log TEXT NOT NULL DEFAULT '',
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX orchestrations_ws ON orchestrations(workspace_id);
    CREATE INDEX orchestrations_sha ON orchestrations(sha);

    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        orch_id TEXT NOT NULL REFERENCES orchestrations(id),
        run_type TEXT NOT NULL,
        schedule TEXT,
        timeout REAL,
        status TEXT NOT NULL,
        input_data TEXT NOT NULL,
        killed INTEGER NOT NULL DEFAULT 0,
        next_run_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX tasks_ws ON tasks(workspace_id);
    CREATE INDEX tasks_orch ON tasks(orch_id);
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id),
        status TEXT NOT NULL,
        scheduled_for TEXT,
        pid INTEGER,
        exit_code INTEGER,
        error TEXT,
        log_lines INTEGER NOT NULL DEFAULT 0,
        log_truncated INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT
    );
    CREATE INDEX runs_task ON runs(task_id, created_at);
    CREATE INDEX runs_status ON runs(status);
    CREATE TABLE run_logs (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        stream TEXT NOT NULL,
        partial INTEGER NOT NULL DEFAULT 0,
        text TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE fires (
        task_id TEXT NOT NULL,
        scheduled_at TEXT NOT NULL,
        run_id TEXT,
        outcome TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (task_id, scheduled_at)
    ) WITHOUT ROWID;

    CREATE TABLE models (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        name TEXT NOT NULL,
        version TEXT NOT NULL UNIQUE,
        sha TEXT NOT NULL,
        file_name TEXT NOT NULL,
        inputs TEXT NOT NULL,
        outputs TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX models_ws ON models(workspace_id, name);
    CREATE TABLE pipelines (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        name TEXT NOT NULL,
        deployed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (workspace_id, name)
    );
    CREATE TABLE pipeline_versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
        version TEXT NOT NULL UNIQUE,
        steps TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    CREATE TABLE connections (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        details TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE connection_workspaces (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        PRIMARY KEY (connection_id, workspace_id)
    );
    """,
]


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self._lock:
            for version in range(self.schema_version, len(MIGRATIONS)):
                with self.transaction():
                    for statement in _split_sql(MIGRATIONS[version]):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.transaction() as conn:
            conn.executemany(sql, rows)

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
