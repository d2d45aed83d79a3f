"""Notebook display of every object and list, and the wait helper's contract."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from jupyter_orch.client import Client, WaitTimeout
from jupyter_orch.client.display import duration, local_time
from jupyter_orch.client.task import RunLogs, TaskRun
from jupyter_orch.client.waits import wait_for_status
from tests.support.zips import make_zip

SECRET = {"user": "admin", "password": "hunter2-secret"}


def test_time_and_duration_formats() -> None:
    moment = datetime(2026, 11, 24, 16, 25, 17, 340060, tzinfo=UTC)
    assert local_time(moment.isoformat()) == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert local_time(None) == "" and duration(None, moment) == ""
    start = "2026-11-24T16:25:17+00:00"
    assert duration(start, "2026-11-24T16:25:17.420000+00:00") == "0.42s"
    assert duration(start, "2026-11-24T16:28:21+00:00") == "3m 04s"
    assert duration(start, "2026-11-24T18:30:17+00:00") == "2h 05m"


def test_workspace_orchestration_connection_reprs(wl: Client) -> None:
    workspace = wl.get_current_workspace()
    assert workspace.name() in repr(workspace) and f"id={workspace.id()}" in repr(workspace)
    assert f"<td>{workspace.name()}</td>" in workspace._repr_html_()
    table = wl.list_workspaces()._repr_html_()
    assert table.startswith("<table><thead>") and "<th>created_at</th>" in table and workspace.name() in table

    orch = wl.upload_orchestration(bytes_buffer=make_zip({"main.py": "pass\n"}), name="shown").wait_for_ready(30)
    assert "Orchestration(id=" in repr(orch) and "'shown'" in repr(orch)
    html = wl.list_orchestrations()._repr_html_()
    for column in ("id", "name", "status", "filename", "sha", "created at", "updated at"):
        assert f"<th>{column}</th>" in html
    assert orch.id() in html and "ready" in html
    assert local_time(orch.created_at()) in html

    connection = wl.create_connection("shown-conn", "HTTP", SECRET)
    for text in (repr(connection), connection._repr_html_(), wl.list_connections()._repr_html_(), str(connection)):
        assert "hunter2-secret" not in text and "admin" not in text
        assert "*****" in text and "password" in text
    assert connection.details() == SECRET  # the code that uses it still gets the values
    wl.delete_connection("shown-conn")


def test_html_is_escaped(wl: Client) -> None:
    orch = wl.upload_orchestration(bytes_buffer=make_zip({"main.py": "pass\n"}), name="<b>x</b>")
    assert "<b>x</b>" not in orch._repr_html_() and "&lt;b&gt;x&lt;/b&gt;" in orch._repr_html_()


def test_task_run_and_logs_display(wl: Client) -> None:
    run = TaskRun(wl, {"task": "t-1", "run_id": "r-1", "status": "success", "exit_code": 0,
                       "created_at": "2026-01-01T00:00:00+00:00", "started_at": "2026-01-01T00:00:00+00:00",
                       "ended_at": "2026-01-01T00:01:05+00:00"})
    assert run.id() == "r-1" and "1m 05s" in run._repr_html_() and "TaskRun(task id='t-1'" in repr(run)
    logs = RunLogs(["2026-01-01T00:00:01.5Z stdout F hello <world>", "2026-01-01T00:00:02Z stderr F oops", "odd"])
    assert logs.texts() == ["hello <world>", "oops", "odd"]
    html = logs._repr_html_()
    assert ">stream</th>" in html and "hello &lt;world&gt;" in html and "stderr" in html
    # Left-aligned and monospace, in Lab (the class) and in any other frontend (inline): tracebacks read.
    assert 'class="jp-orch-log-table"' in html and html.count("text-align:left") == 3 * 4
    assert str(logs).splitlines()[1].endswith("stderr F oops")
    assert "(no lines)" in RunLogs()._repr_html_()


def fake_fetch(statuses: list[str], hold: bool) -> Any:
    seen: list[dict[str, Any]] = []

    def fetch(wait: dict[str, Any], http_timeout: float) -> dict[str, Any]:
        seen.append(wait)
        assert http_timeout > wait["wait_timeout"]
        if hold and len(statuses) > 1:
            time.sleep(min(wait["wait_timeout"], 0.2))
        return {"status": statuses.pop(0) if len(statuses) > 1 else statuses[0]}

    fetch.seen = seen  # type: ignore[attr-defined]
    return fetch


def test_wait_returns_on_a_stop_status() -> None:
    fetch = fake_fetch(["packaging", "packaging", "ready"], hold=True)
    assert wait_for_status(fetch, ("ready", "error"), 5, "thing")["status"] == "ready"
    assert fetch.seen[0]["wait_for"] == ["ready", "error"] and 0 < fetch.seen[0]["wait_timeout"] <= 5


def test_wait_timeout_is_a_timeout_error_with_the_last_status() -> None:
    fetch = fake_fetch(["started"], hold=False)  # a server that never holds: back-off, no hot loop
    began = time.monotonic()
    with pytest.raises(TimeoutError) as failure:
        wait_for_status(fetch, ("success",), 0.5, "task abc")
    assert 0.5 <= time.monotonic() - began < 2
    assert isinstance(failure.value, WaitTimeout) and failure.value.status == "started"
    assert "task abc" in str(failure.value) and "started" in str(failure.value)
    assert len(fetch.seen) < 15
