"""Task (a run-once, scheduled or continuous use of an orchestration) and its runs."""

from __future__ import annotations

import html
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..constants import RUN_ENDED, TASK_TERMINAL, UPSTREAM_RUN_KEY
from .base import Entity, Listing
from .display import duration, local_time, parse_time, record_html, table_html, time_text
from .errors import ApiError, WaitTimeout
from .waits import HTTP_SLACK_S, MAX_HOLD_S, wait_for_status

RUN_TYPE_WORDS = {"Oneshot": "Temporary Run", "CronJob": "Scheduled Run", "NetworkService": "Continuous Run"}
DOWNLOAD_CHUNK = 64 * 1024
SCHEDULE_FIELDS = ("schedule", "tz", "json_args", "timeout", "end_date", "max_runs")
CHAIN_FIELDS = ("on_success", "on_failure")


class Task(Entity):
    def _refresh(self, wait: dict[str, Any] | None = None, http_timeout: float | None = None) -> dict[str, Any]:
        self._data = self._client._http.post(
            "task/get_by_id", {"id": self.id(), **(wait or {})}, timeout=http_timeout
        )
        return self._data

    def name(self) -> str | None:
        return self._data.get("name")

    def status(self) -> str:
        """The current status, asked of the server."""
        return self._refresh()["status"]

    def workspace_id(self) -> int:
        return self._data["workspace_id"]

    def orchestration_id(self) -> str:
        return self._data["orch_id"]

    def run_type(self) -> str:
        return self._data["run_type"]

    def schedule(self) -> str | None:
        return self._data.get("schedule")

    def input_data(self) -> dict[str, Any]:
        return self._data.get("input_data") or {}

    def tz(self) -> str:
        """The IANA time zone whose wall clock the schedule follows."""
        return self._data.get("tz") or "UTC"

    def end_date(self) -> datetime | None:
        return parse_time(self._data.get("end_date"))

    def max_runs(self) -> int | None:
        return self._data.get("max_runs")

    def max_retries(self) -> int:
        return self._data.get("max_retries") or 0

    def attempt(self) -> int:
        """The attempt of the task's newest run (1, or 2 and on for its retries)."""
        return (self._data.get("last_runs") or [{}])[0].get("attempt") or 1

    def on_success(self) -> dict[str, Any] | None:
        """The follow-up (a run-once body) a successful run starts, if any."""
        return self._data.get("on_success")

    def on_failure(self) -> dict[str, Any] | None:
        """The follow-up a run that finally fails or times out starts, if any."""
        return self._data.get("on_failure")

    def upstream_run_id(self) -> str | None:
        """The run whose end started this task (it is another task's follow-up)."""
        return self._data.get("upstream_run_id")

    def update_chain(self, **changes: dict[str, Any] | None) -> Task:
        """Set `on_success` and/or `on_failure` (`orch.follow_up(...)`; None: none); a chain
        that would loop is refused (`BadRequest`) and changes nothing."""
        unknown = set(changes) - set(CHAIN_FIELDS)
        if unknown:
            raise TypeError(f"update_chain() takes {', '.join(CHAIN_FIELDS)}; not {', '.join(sorted(unknown))}")
        self._data = self._client._http.post("task/update_chain", {"id": self.id(), **changes})
        return self

    def pause(self) -> Task:
        """Stop the schedule firing (a run under way goes on) until `resume`."""
        self._data = self._client._http.post("task/pause", {"id": self.id(), "pause": True})
        return self

    def resume(self) -> Task:
        """Fire again from now on (fires that fell while paused are not made up)."""
        self._data = self._client._http.post("task/pause", {"id": self.id(), "pause": False})
        return self

    def update_schedule(self, **changes: Any) -> Task:
        """Edit a scheduled task, keeping its id and history: any of `schedule`, `tz`,
        `json_args`, `timeout`, `end_date`, `max_runs` (None clears the last four and tz)."""
        unknown = set(changes) - set(SCHEDULE_FIELDS)
        if unknown:
            raise TypeError(f"update_schedule() takes {', '.join(SCHEDULE_FIELDS)}; not {', '.join(sorted(unknown))}")
        body = {"json" if k == "json_args" else k: time_text(v) if k == "end_date" else v for k, v in changes.items()}
        self._data = self._client._http.post("task/update_schedule", {"id": self.id(), **body})
        return self

    def run_now(self, json_args: dict[str, Any] | None = None, timeout: float | None = None) -> TaskRun:
        """Run this scheduled task now, beside its schedule; `json_args` and `timeout` are for
        this run only (the task's own when not given)."""
        body = {"id": self.id(), "json": json_args, "timeout": timeout}
        run = self._client._http.post("task/run_now", {k: v for k, v in body.items() if v is not None})
        return TaskRun(self._client, run)

    def next_fires(self, count: int = 5) -> list[datetime]:
        """The schedule's next `count` fires (UTC; a paused task's: if resumed now)."""
        fires = self._client._http.post("task/next_fires", {"id": self.id(), "count": count})["fires"]
        return [at for at in map(parse_time, fires) if at is not None]

    def created_at(self) -> str:
        return self._data["created_at"]

    def updated_at(self) -> str:
        return self._data["updated_at"]

    def widget(self) -> Any:
        """A live ipywidget of this task: status, runs, log tail, Kill and Run-now."""
        from ..kernel.widgets import TaskWidget

        return TaskWidget(self)

    def kill(self) -> Task:
        self._data = self._client._http.post("task/kill", {"id": self.id()})
        return self

    def wait_for(self, status: str | list[str] = "terminal", timeout: float | None = None) -> Task:
        """Block until the task reaches `status` ("terminal": success, failed, timed_out or
        killed) or ends; raise `WaitTimeout` (a `TimeoutError`) with the last status seen."""
        wanted = TASK_TERMINAL if status == "terminal" else ([status] if isinstance(status, str) else status)
        stop = tuple(dict.fromkeys([*wanted, *TASK_TERMINAL]))
        wait_for_status(self._refresh, stop, timeout, f"task {self.id()}")
        return self

    def last_runs(self, limit: int | None = None, status: str = "all") -> Listing[TaskRun]:
        """The task's runs, newest first; `status` is all/running/success/failure/timed_out/killed."""
        body: dict[str, Any] = {"task_id": self.id(), "status": status}
        if limit is None:
            runs = self._client._http.post_all("task/list_task_runs", body)
        else:
            runs = self._client._http.post("task/list_task_runs", {**body, "limit": limit})
        return Listing(TaskRun(self._client, run) for run in runs)

    def wait_for_runs(self, count: int = 1, status: str = "ended", timeout: float | None = None) -> Listing[TaskRun]:
        """Block until the task has `count` runs with `status` ("ended": any final status), then
        return its runs newest first; raise `WaitTimeout` with how many there were."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            hold = MAX_HOLD_S if deadline is None else min(MAX_HOLD_S, max(0.0, deadline - time.monotonic()))
            body = {"task_id": self.id(), "status": status, "wait_for_count": count, "wait_timeout": hold}
            runs = self._client._http.post("task/list_task_runs", body, timeout=hold + HTTP_SLACK_S)
            if len(runs) >= count:
                return Listing(TaskRun(self._client, run) for run in runs)
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"task {self.id()}", f"{len(runs)} {status} runs of {count}", timeout)

    def _fields(self) -> dict[str, Any]:
        """The reference SDK's columns, then the status and (scheduled tasks) the next fire."""
        fields = {
            "id": self.id(),
            "name": self.name(),
            "last run status": (self._data.get("last_runs") or [{}])[0].get("status") or "unknown",
            "type": RUN_TYPE_WORDS.get(str(self._data.get("run_type")), self._data.get("run_type")),
            "active": not self._data.get("killed"),
            "schedule": self.schedule() or "-",
            "created at": local_time(self.created_at()),
            "updated at": local_time(self.updated_at()),
            "workspace id": self.workspace_id(),
            "workspace name": self._client._workspace_name(self.workspace_id()),
            "status": self._data.get("status"),
        }
        if self._data.get("run_type") == "CronJob":
            fields["time zone"] = self.tz()
            fields["next run"] = local_time(self._data.get("next_run_at"))
            if self._data.get("end_date"):
                fields["ends"] = local_time(self._data["end_date"])
            if self.max_runs() is not None:
                fields["max runs"] = self.max_runs()
        if self.max_retries():
            fields["attempt"] = f"{self.attempt()} of {self.max_retries() + 1}"
        for key in CHAIN_FIELDS:
            if (body := self._data.get(key)) is not None:
                fields[key.replace("_", " ")] = _follow_up_words(body)
        if self.upstream_run_id():
            fields["started by run"] = self.upstream_run_id()
        return fields


class TaskRun(Entity):
    def id(self) -> str:
        return self._data["run_id"]

    def task_id(self) -> str:
        return self._data["task"]

    def status(self) -> str:
        return self._data["status"]

    def exit_code(self) -> int | None:
        return self._data.get("exit_code")

    def engine_id(self) -> str | None:
        """The engine (server) that ran it: with several servers on one database, any of them."""
        return self._data.get("engine_id")

    def worker(self) -> str | None:
        """The Dask worker it ran on (`tcp://host:port`); None when it ran on its engine's machine."""
        return self._data.get("worker")

    def error(self) -> str | None:
        """Why a run failed, in one line (the last line of its traceback, or the timeout/kill)."""
        return self._data.get("error")

    def input_data(self) -> dict[str, Any]:
        """The arguments this run ran with (a run-now override, or its task's at the time)."""
        return self._data.get("input_data") or {}

    def rerun_of(self) -> str | None:
        return self._data.get("rerun_of")

    def retry_of(self) -> str | None:
        """The failed run this run retries."""
        return self._data.get("retry_of")

    def attempt(self) -> int:
        return self._data.get("attempt") or 1

    def follow_up_task_id(self) -> str | None:
        """The task this run's end started (its task's on_success or on_failure)."""
        return self._data.get("follow_up_task_id")

    def follow_up(self) -> Task | None:
        task_id = self.follow_up_task_id()
        return None if task_id is None else self._client.get_task_by_id(task_id)

    def upstream_run_id(self) -> str | None:
        """The run whose end started this run's task (a follow-up's argument `upstream_run_id`)."""
        return self.input_data().get(UPSTREAM_RUN_KEY)

    def rerun(self) -> TaskRun:
        """Run this finished run again with the arguments and timeout it ran with: a new run of
        the same task."""
        return TaskRun(self._client, self._client._http.post("task/rerun", {"id": self.id()}))

    def logs(self, limit: int | None = None) -> RunLogs:
        """The run's stdout/stderr lines (`<time> stdout|stderr F <text>`); the last `limit`."""
        body: dict[str, Any] = {"id": self.id()}
        if limit is not None:
            body["lines"] = limit
            return RunLogs(self._client._http.post("task/get_logs_for_run", body)["logs"])
        return RunLogs(self._client._http.post_all("task/get_logs_for_run", body, "logs"))

    def artifacts(self) -> Listing[RunArtifact]:
        """The files the run wrote under `outputs/` in its working folder, kept after it ended."""
        found = self._client._http.post_all("task/list_run_artifacts", {"id": self.id()}, "artifacts")
        return Listing(RunArtifact(self._client, a) for a in found)

    def _repr_html_(self) -> str:
        """The run's fields, then (once it ended) links to its artifacts."""
        shown = super()._repr_html_()
        if self.status() not in RUN_ENDED:
            return shown
        try:
            artifacts = self.artifacts()
        except ApiError:  # e.g. the run was deleted meanwhile: its fields are still worth showing
            return shown
        links = "".join(f'<li><a href="{html.escape(a.url())}" target="_blank">{html.escape(a.path())}</a> '
                        f"({a.size()} bytes)</li>" for a in artifacts)
        return shown + (f"<p>artifacts:</p><ul>{links}</ul>" if links else "")

    def _fields(self) -> dict[str, Any]:
        """The reference SDK's columns (a run is one process here: its "pod" is the run), then
        the exit code and duration."""
        return {
            "task id": self.task_id(),
            "pod id": self.id(),
            "status": self.status(),
            "created at": local_time(self._data.get("created_at")),
            "updated at": local_time(self._data.get("updated_at")),
            "exit code": self.exit_code(),
            "duration": duration(self._data.get("started_at"), self._data.get("ended_at")),
            **({"worker": self.worker()} if self.worker() else {}),
            **({"re-run of": self.rerun_of()} if self.rerun_of() else {}),
            **({"attempt": self.attempt(), "retry of": self.retry_of()} if self.retry_of() else {}),
            **({"started task": self.follow_up_task_id()} if self.follow_up_task_id() else {}),
            **({"started by run": self.upstream_run_id()} if self.upstream_run_id() else {}),
        }


class RunArtifact(Entity):
    """A file a run wrote under `outputs/`: its path there, size, and a download URL (which
    needs the server's token or, in the browser, its cookie)."""

    def id(self) -> str:
        return self.url()

    def path(self) -> str:
        return self._data["path"]

    def size(self) -> int:
        return self._data["size"]

    def url(self) -> str:
        return urljoin(self._client._http.url, self._data["url"])

    def read_bytes(self) -> bytes:
        return self._client._http.get(self.url()).content

    def save(self, to: str | Path | None = None) -> Path:
        """Download it to `to` (a file, or a folder to put it in; default: the current folder)."""
        target = Path(to) if to is not None else Path.cwd()
        if target.is_dir():
            target = target / Path(self.path()).name
        with self._client._http.get(self.url(), stream=True) as response, target.open("wb") as file:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                file.write(chunk)
        return target

    def _fields(self) -> dict[str, Any]:
        return {"path": self.path(), "size": self.size(), "url": self.url()}


class RunLogs(list[str]):
    """A run's log lines; shows as a time / stream / text table in a notebook."""

    def texts(self) -> list[str]:
        """Only the printed text of each line."""
        return [_split(line)[2] for line in self]

    def __str__(self) -> str:
        return "\n".join(self)

    def _repr_html_(self) -> str:
        if not self:
            return record_html({"logs": "(no lines)"})
        rows = (dict(zip(("time", "stream", "text"), _split(line), strict=True)) for line in self)
        return table_html(({**r, "time": local_time(r["time"]) or r["time"]} for r in rows), log=True)


def _follow_up_words(body: dict[str, Any]) -> str:
    """`<name or orchestration id>`, and what it chains to in turn."""
    words = str(body.get("name") or f"orchestration {body['orch_id']}")
    nested = [f"{key.replace('_', ' ')}: {_follow_up_words(body[key])}" for key in CHAIN_FIELDS if body.get(key)]
    return f"{words} ({'; '.join(nested)})" if nested else words


def _split(line: str) -> tuple[str, str, str]:
    """`<time> <stream> F <text>` -> (time, stream, text); a line of another shape is all text."""
    parts = line.split(" ", 3)
    if len(parts) >= 3 and parts[1] in ("stdout", "stderr"):
        return parts[0], parts[1], parts[3] if len(parts) == 4 else ""
    return "", "", line
