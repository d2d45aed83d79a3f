"""Orchestration: an uploaded zip packaged into a runnable environment, and the tasks made of it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .base import Entity
from .display import local_time, time_text
from .errors import StatusError
from .waits import wait_for_status

if TYPE_CHECKING:
    from .task import Task

READY, ERROR = "ready", "error"


class Orchestration(Entity):
    def _refresh(self, wait: dict[str, Any] | None = None, http_timeout: float | None = None) -> dict[str, Any]:
        self._data = self._client._http.post(
            "orchestration/get_by_id", {"id": self.id(), **(wait or {})}, timeout=http_timeout
        )
        return self._data

    def name(self) -> str | None:
        return self._data.get("name")

    def status(self) -> str:
        """The current status, asked of the server (`pending_packaging`, `packaging`,
        `ready`, `error`)."""
        return self._refresh()["status"]

    def sha(self) -> str:
        return self._data["sha"]

    def file_name(self) -> str:
        return self._data["file_name"]

    def workspace_id(self) -> int:
        return self._data["workspace_id"]

    def task_id(self) -> str:
        return self._data["task_id"]

    def owner_id(self) -> str:
        return self._data["owner_id"]

    def created_at(self) -> str:
        return self._data["created_at"]

    def updated_at(self) -> str:
        return self._data["updated_at"]

    def widget(self) -> Any:
        """A live ipywidget of the packaging status (and its log when it fails)."""
        from ..kernel.widgets import OrchestrationWidget

        return OrchestrationWidget(self)

    def wait_for_ready(self, timeout: float | None = None) -> Orchestration:
        """Block until packaging ends; `StatusError` if it failed, `WaitTimeout` on timeout."""
        data = wait_for_status(self._refresh, (READY, ERROR), timeout, f"orchestration {self.id()}")
        if data["status"] == ERROR:
            detail = data.get("error") or ""
            log = (data.get("packaging_log") or "").strip()
            raise StatusError(f"orchestration {self.id()}", ERROR, f"{detail}\n{log[-2000:]}".strip())
        return self

    def follow_up(
        self, name: str | None = None, json_args: dict[str, Any] | None = None, timeout: float | None = None,
        *, on_success: dict[str, Any] | None = None, on_failure: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A run-once body of this orchestration, for another task's `on_success` or
        `on_failure` (its runs get the ending run's id as `upstream_run_id` beside `json_args`);
        it may chain further itself."""
        body = {"orch_id": self.id(), "workspace_id": self.workspace_id(), "name": name, "json": json_args,
                "timeout": timeout, "on_success": on_success, "on_failure": on_failure}
        return {k: v for k, v in body.items() if v is not None}

    def run_once(
        self, name: str, json_args: dict[str, Any] | None = None, timeout: float | None = None,
        *, max_retries: int | None = None, retry_delay: float | None = None,
        on_success: dict[str, Any] | None = None, on_failure: dict[str, Any] | None = None,
    ) -> Task:
        """`max_retries`: retry a failed or timed-out run that many times, the first after
        `retry_delay` seconds (default 10), doubling each time, with jitter. `on_success`,
        `on_failure`: a follow-up (`other.follow_up(...)`) started when a run ends that way."""
        return self._start("task/run_once", name, json_args, timeout=timeout, max_retries=max_retries,
                           retry_delay=retry_delay, on_success=on_success, on_failure=on_failure)

    def run_scheduled(
        self, name: str, schedule: str, json_args: dict[str, Any] | None = None, timeout: float | None = None,
        *, tz: str | None = None, end_date: datetime | str | None = None, max_runs: int | None = None,
        max_retries: int | None = None, retry_delay: float | None = None,
        on_success: dict[str, Any] | None = None, on_failure: dict[str, Any] | None = None,
    ) -> Task:
        """`tz`: an IANA zone whose wall clock the schedule follows (default UTC); `end_date`: no
        fire after it (a time without offset is in `tz`); `max_runs`: the schedule ends once it
        has made that many runs; `max_retries`, `retry_delay`, `on_success`, `on_failure`: as
        `run_once`."""
        return self._start("task/run_scheduled", name, json_args, schedule=schedule, timeout=timeout, tz=tz,
                           end_date=time_text(end_date), max_runs=max_runs, max_retries=max_retries,
                           retry_delay=retry_delay, on_success=on_success, on_failure=on_failure)

    def run_continuously(
        self, name: str, json_args: dict[str, Any] | None = None,
        *, on_success: dict[str, Any] | None = None, on_failure: dict[str, Any] | None = None,
    ) -> Task:
        return self._start("task/run_continuously", name, json_args, on_success=on_success, on_failure=on_failure)

    def _start(self, route: str, name: str, json_args: dict[str, Any] | None, **extra: Any) -> Task:
        body = {"name": name, "workspace_id": self.workspace_id(), "orch_id": self.id(),
                "json": json_args or {}}
        body.update({k: v for k, v in extra.items() if v is not None})
        task_id = self._client._http.post(route, body)["id"]
        return self._client.get_task_by_id(task_id)

    def _fields(self) -> dict[str, Any]:
        """The reference SDK's columns."""
        return {
            "id": self.id(),
            "name": self.name(),
            "status": self._data["status"],
            "filename": self.file_name(),
            "sha": f"{self.sha()[:6]}...{self.sha()[-6:]}",
            "created at": local_time(self.created_at()),
            "updated at": local_time(self.updated_at()),
            "workspace id": self.workspace_id(),
            "workspace name": self._client._workspace_name(self.workspace_id()),
        }
