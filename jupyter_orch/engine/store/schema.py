"""The tables, as SQLAlchemy Core metadata. Alembic's migrations (migrations/versions) make a
database match this; `test_migrations_match_the_schema` keeps the two in step."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .types import Json, UTCDateTime

metadata = MetaData()
ONE_CLAIMED = text("engine_id IS NOT NULL AND status IN ('pending', 'running')")

workspaces = Table(
    "workspaces", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
)

environments = Table(
    "environments", metadata,
    Column("key", Text, primary_key=True),
    Column("requirements", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("log", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

orchestrations = Table(
    "orchestrations", metadata,
    Column("id", Text, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("sha", Text, nullable=False),
    Column("name", Text),
    Column("file_name", Text, nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("entrypoint", Text, nullable=False),
    Column("requirements", Text, nullable=False, default=""),
    Column("env_key", Text),
    Column("packaging_log", Text, nullable=False, default=""),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("engine_id", Text),  # the engine that packages it (or packaged it last)
    Index("orchestrations_ws", "workspace_id"),
    Index("orchestrations_sha", "sha"),
)

tasks = Table(
    "tasks", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("orch_id", Text, ForeignKey("orchestrations.id"), nullable=False),
    Column("run_type", Text, nullable=False),
    Column("schedule", Text),
    Column("timeout", Float),
    Column("status", Text, nullable=False),
    Column("input_data", Json, nullable=False),
    Column("killed", Boolean, nullable=False, default=False),
    Column("next_run_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("tz", Text),  # the schedule's IANA time zone; null: UTC
    Column("end_date", UTCDateTime),  # the schedule fires no more after it
    Column("max_runs", Integer),  # the schedule ends once its fires made this many runs
    Column("max_retries", Integer),  # a failed or timed-out run is retried up to this many times
    Column("retry_delay", Float),  # seconds before the first retry; doubling, with jitter
    Column("on_success", Json),  # a run-once body started when one of its runs succeeds (tasks/chains.py)
    Column("on_failure", Json),  # ... when one of its runs finally fails or times out
    Column("upstream_run_id", Text),  # the run whose end started this task (a follow-up)
    Index("tasks_ws", "workspace_id"),
    # A run's end starts its follow-up once, whichever engines see the end.
    Index("tasks_upstream_run", "upstream_run_id", unique=True),
    Index("tasks_orch", "orch_id"),
)

runs = Table(
    "runs", metadata,
    Column("id", Text, primary_key=True),
    Column("task_id", Text, ForeignKey("tasks.id"), nullable=False),
    # The run's place among its task's runs (1, 2, ...): the order of runs made in one instant.
    Column("number", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("scheduled_for", UTCDateTime),
    Column("pid", Integer),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("log_lines", Integer, nullable=False, default=0),
    Column("log_truncated", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("engine_id", Text),  # the engine that claimed the run and drives it
    Column("not_before", UTCDateTime),  # a continuous task's restart waits out its back-off
    Column("worker", Text),  # the cluster worker it ran on (executors/dask.py); None: its engine's machine
    # The run's own arguments and timeout (the task's when it was made, or a run-now override);
    # null in runs made before they were kept: the task's.
    Column("input_data", Json),
    Column("timeout", Float),
    Column("rerun_of", Text),  # the run this one re-runs
    Column("retry_of", Text),  # the failed run this one retries
    Column("attempt", Integer),  # 1 for a first try, 2 for its first retry, ...; null: 1
    Column("follow_up_task_id", Text),  # the task this run's end started (its task's on_success/on_failure)
    UniqueConstraint("task_id", "number", name="runs_task_number"),
    Index("runs_task", "task_id", "created_at"),
    Index("runs_status", "status"),
    # Never two live runs of one task, whichever engines claim them: the database says no.
    Index("runs_one_claimed", "task_id", unique=True, sqlite_where=ONE_CLAIMED, postgresql_where=ONE_CLAIMED),
)

run_logs = Table(
    "run_logs", metadata,
    Column("run_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("stream", Text, nullable=False),
    Column("partial", Boolean, nullable=False, default=False),
    Column("text", Text, nullable=False),
    Column("engine_id", Text),
    PrimaryKeyConstraint("run_id", "seq"),
)

fires = Table(
    "fires", metadata,
    Column("task_id", Text, nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("run_id", Text),
    Column("outcome", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("engine_id", Text),  # the leader that recorded the fire
    PrimaryKeyConstraint("task_id", "scheduled_at"),
)

# Every engine that serves this database, with the lease it renews (store/leases.py).
engines = Table(
    "engines", metadata,
    Column("id", Text, primary_key=True),
    Column("url", Text),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Named leases one engine at a time holds, e.g. `scheduler`: the leader that fires schedules.
leases = Table(
    "leases", metadata,
    Column("name", Text, primary_key=True),
    Column("engine_id", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

models = Table(
    "models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("version", Text, nullable=False, unique=True),
    Column("sha", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("inputs", Json, nullable=False),
    Column("outputs", Json, nullable=False),
    Column("config", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("models_ws", "workspace_id", "name"),
)

pipelines = Table(
    "pipelines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("deployed", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

pipeline_versions = Table(
    "pipeline_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline_id", Integer, ForeignKey("pipelines.id"), nullable=False),
    Column("version", Text, nullable=False, unique=True),
    Column("steps", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

connections = Table(
    "connections", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("details", Json, nullable=False),  # {} once sealed; release 0.1.0 kept clear text here
    Column("sealed_details", Text),  # Fernet token of the details (workspaces/secrets.py)
    Column("created_at", UTCDateTime, nullable=False),
)

connection_workspaces = Table(
    "connection_workspaces", metadata,
    Column("connection_id", Text, ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    PrimaryKeyConstraint("connection_id", "workspace_id"),
)

__all__ = [
    "connection_workspaces", "connections", "engines", "environments", "fires", "leases", "metadata", "models",
    "orchestrations", "pipeline_versions", "pipelines", "run_logs", "runs", "tasks", "workspaces",
]
