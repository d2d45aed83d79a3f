"""The environment variables a run's process starts with, in one place for a real run
(Tasks.prepare adds its credential and the server's URL) and a dry run (client/dryrun.py, which
has neither): an allow-list of the server's own, the configured `run_env`, the task's ids, the
run's id."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...constants import REFERENCE_TASK_ID_ENV, RUN_ID_ENV, TASK_ID_ENV
from ..childenv import run_environ


def task_variables(task_id: str, orch_id: str, orch_sha: str, owner_id: str) -> dict[str, str]:
    """A task's `extra_env_vars`: what each of its runs gets to know which task it is."""
    return {TASK_ID_ENV: task_id, "ORCH_ID": orch_id, "ORCH_SHA": orch_sha, "ORCH_OWNER_ID": owner_id}


def run_variables(run_id: str, task_vars: Mapping[str, str], configured: Mapping[str, str]) -> dict[str, str]:
    return {
        **run_environ(os.environ),
        **configured,
        **task_vars,
        RUN_ID_ENV: run_id,
        REFERENCE_TASK_ID_ENV: task_vars[TASK_ID_ENV],
        "PYTHONUNBUFFERED": "1",
    }
