"""Names every part shares (engine, server, client, widgets; the sidebar keeps a copy in
labextension/src/constants.ts, checked by tests/ui/test_constants.py): statuses, run types,
environment variables and media types. Nothing here imports anything heavy."""

from __future__ import annotations

from typing import Final, Literal

# Environment variables a kernel or a task run finds the server and its arguments by.
URL_ENV = "JUPYTER_ORCH_URL"
TOKEN_ENV = "JUPYTER_ORCH_TOKEN"
TASK_ARGS_FILE_ENV = "JUPYTER_ORCH_TASK_ARGS_FILE"
RUN_ID_ENV = "RUN_ID"
TASK_ID_ENV = "TASK_ID"
REFERENCE_TASK_ID_ENV = "WALLAROO_TASK_ID"
DRY_RUN_TASK_PREFIX = "dry-run-"  # the task id of a dry run (client/dryrun.py) starts so
# Marks each installer process with the environment it builds, so a restart finds the leftovers.
INSTALLER_ENV = "JUPYTER_ORCH_INSTALLING"

# A display that tells the JupyterLab sidebar which workspace the kernel now uses.
WORKSPACE_MIME = "application/vnd.jupyter-orch.workspace+json"

# Media types of inference frames.
ARROW_FILE = "application/vnd.apache.arrow.file"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
RECORDS = "application/json; format=pandas-records"

# Orchestrations.
ORCH_PENDING, ORCH_PACKAGING, ORCH_READY, ORCH_ERROR = "pending_packaging", "packaging", "ready", "error"
ORCH_TERMINAL = (ORCH_READY, ORCH_ERROR)

# Tasks: run types and statuses.
ONESHOT: Final = "Oneshot"
CRONJOB: Final = "CronJob"
SERVICE: Final = "NetworkService"
RunType = Literal["Oneshot", "CronJob", "NetworkService"]
PENDING, STARTED = "pending", "started"
PAUSED = "paused"  # a scheduled task whose schedule does not fire until it is resumed
SUCCESS, FAILED, TIMED_OUT = "success", "failed", "timed_out"
PENDING_KILL, KILLED = "pending_kill", "killed"
TASK_STATUSES = (PENDING, STARTED, PAUSED, SUCCESS, FAILED, TIMED_OUT, PENDING_KILL, KILLED)
TASK_TERMINAL = (SUCCESS, FAILED, TIMED_OUT, KILLED)
TASK_ACTIVE = (PENDING, STARTED, PENDING_KILL)

# Runs (queued runs are `pending`, as their tasks are).
RUNNING, FAILURE = "running", "failure"
RUN_SKIPPED = "skipped"  # a scheduled fire not run because the previous run still ran
RUN_ACTIVE = (PENDING, RUNNING)
RUN_ENDED = (SUCCESS, FAILURE, TIMED_OUT, KILLED)
RUN_FAILED = (FAILURE, TIMED_OUT)
# What a run writes under this folder of its working folder is kept after it ends (its artifacts).
OUTPUTS_DIR = "outputs"
# The argument a follow-up task (on_success / on_failure) gets: the id of the run whose end started it.
UPSTREAM_RUN_KEY = "upstream_run_id"
CHAIN_KEYS = ("on_success", "on_failure")
RunFilter = Literal["all", "ended", "pending", "running", "success", "failure", "timed_out", "killed", "skipped"]

# Pipelines.
PIPELINE_RUNNING, PIPELINE_STARTING, PIPELINE_ERROR, PIPELINE_UNDEPLOYED = "Running", "Starting", "Error", "Undeployed"
PIPELINE_SETTLED = (PIPELINE_RUNNING, PIPELINE_ERROR, PIPELINE_UNDEPLOYED)
PIPELINE_DELETED = "Deleted"  # only ever in the event that says so
