"""`wallaroo.task`: tasks as the reference SDK reports them.

The reference's task status tells whether the task was started, not how its runs ended: a
run-once task that has finished is still `started`, its outcome being its last run's status.
Scripts written for it wait with `while task.status() != "started"`, which must end even when
the run finished between two looks. So here `status()` reports a task that ended by itself
(`success`, `failed`, `timed_out`) as `started`; `wait_for`, the tables, the REST API and
`jupyter_orch.Client` keep the real status.
"""

from __future__ import annotations

from enum import StrEnum

from jupyter_orch.client import Task as OrchTask

ENDED_BY_ITSELF = frozenset({"success", "failed", "timed_out"})


class ArbexStatus(StrEnum):
    """A task's status as the reference names it (`Arbex` is its orchestration service)."""

    PENDING = "pending"
    STARTED = "started"
    PENDING_KILL = "pending_kill"
    KILLED = "killed"


class Task(OrchTask):
    def status(self) -> str:
        """`pending`, `started` (also once it has ended by itself), `pending_kill` or `killed`."""
        return _as_reference(super().status())

    def kill(self) -> ArbexStatus:  # type: ignore[override]  # the reference answers the status
        """Kill the task; the status it has now (`ArbexStatus.PENDING_KILL` while its runs stop)."""
        return ArbexStatus(_as_reference(super().kill().to_dict()["status"]))


def _as_reference(status: str) -> str:
    return ArbexStatus.STARTED.value if status in ENDED_BY_ITSELF else status
