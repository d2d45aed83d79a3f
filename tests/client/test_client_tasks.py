"""Tasks through the client: run once / scheduled / continuously, waits, kill, runs and logs,
and what a task run sees (`in_task`, `task_args`, its workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_orch.client import Client, Orchestration, WaitTimeout
from tests.support.zips import make_zip

ECHO = """\
import json, os
from jupyter_orch import Client

wl = Client()
print("in_task", wl.in_task())
print("args", json.dumps(wl.task_args(), sort_keys=True))
print("workspace", wl.get_current_workspace().id())
print("same ids", os.environ["WALLAROO_TASK_ID"] == os.environ["TASK_ID"])
"""



def orchestration(wl: Client, main: str, name: str) -> Orchestration:
    return wl.upload_orchestration(bytes_buffer=make_zip({"main.py": main}), name=name).wait_for_ready(60)


def test_run_once_runs_logs_and_task_view(wl: Client) -> None:
    orch = orchestration(wl, ECHO, "echo")
    task = orch.run_once("echo once", json_args={"b": [1, 2], "a": "x"}, timeout=120)
    assert task.name() == "echo once" and task.run_type() == "Oneshot"
    assert task.input_data() == {"b": [1, 2], "a": "x"} and task.orchestration_id() == orch.id()
    assert task.wait_for(timeout=120) is task
    assert task.status() == "success"
    (run,) = task.last_runs()
    assert run.status() == "success" and run.exit_code() == 0 and run.task_id() == task.id()
    texts = run.logs().texts()
    assert "in_task True" in texts and 'args {"a": "x", "b": [1, 2]}' in texts
    assert f"workspace {wl.get_current_workspace().id()}" in texts and "same ids True" in texts
    assert run.logs(limit=1).texts() == ["same ids True"]
    assert [r.id() for r in task.last_runs(limit=5, status="success")] == [run.id()]
    assert task.last_runs(status="failure") == []
    assert wl.get_task_by_id(task.id()) == task
    assert task.id() in [t.id() for t in wl.list_tasks()]
    html = wl.list_tasks()._repr_html_()
    columns = ("id", "name", "last run status", "type", "active", "schedule", "created at", "updated at",
               "workspace id", "workspace name", "status")
    assert "".join(f"<th>{column}</th>" for column in columns) in html  # the reference's, then ours
    workspace = wl.get_current_workspace()
    for cell in ("Temporary Run", "echo once", "True", "-", str(workspace.id()), workspace.name()):
        assert f"<td>{cell}</td>" in html
    runs_html = task.last_runs()._repr_html_()
    assert "<th>task id</th><th>pod id</th><th>status</th><th>created at</th><th>updated at</th>" in runs_html
    assert "<th>duration</th>" in runs_html and run.id() in runs_html and "s</td>" in runs_html


def test_failed_run(wl: Client) -> None:
    task = orchestration(wl, "print('about to fail')\nraise SystemExit(3)\n", "fails").run_once("fails")
    assert task.wait_for("terminal", timeout=120).status() == "failed"
    (run,) = task.last_runs()
    assert run.status() == "failure" and run.exit_code() == 3
    assert "about to fail" in run.logs().texts()


def test_wait_timeout_then_kill(wl: Client) -> None:
    sleeper = orchestration(wl, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n", "sleeper")
    task = sleeper.run_once("sleeper")
    with pytest.raises(TimeoutError) as failure:
        task.wait_for("success", timeout=1)
    assert isinstance(failure.value, WaitTimeout) and failure.value.status in ("pending", "started")
    assert task.kill().status() in ("pending_kill", "killed")
    assert task.wait_for("killed", timeout=60).status() == "killed"
    assert task.last_runs()[0].status() == "killed"


def test_scheduled_and_continuous_tasks(wl: Client) -> None:
    orch = orchestration(wl, "import time\ntime.sleep(60)\n", "long")
    scheduled = orch.run_scheduled("every five", "*/5 * * * *", json_args={"k": 1}, timeout=30)
    assert scheduled.run_type() == "CronJob" and scheduled.schedule() == "*/5 * * * *"
    html = scheduled._repr_html_()
    assert "<th>schedule</th>" in html and "*/5 * * * *" in html and "<th>next run</th>" in html
    assert "Scheduled Run" in html and "last run status</th><td>unknown" in html
    service = orch.run_continuously("service", json_args={"k": 2})
    assert service.run_type() == "NetworkService" and "<td>Continuous Run</td>" in service._repr_html_()
    assert service.wait_for("started", timeout=60).status() == "started"
    assert {scheduled.id(), service.id()} <= {t.id() for t in wl.list_tasks()}
    for task in (scheduled, service):
        task.kill()
        assert task.wait_for(timeout=60).status() == "killed"
    assert not {scheduled.id(), service.id()} & {t.id() for t in wl.list_tasks()}
    assert "<th>active</th><td>False</td>" in wl.get_task_by_id(service.id())._repr_html_()
    assert {scheduled.id(), service.id()} <= {t.id() for t in wl.list_tasks(killed=True)}


def test_task_args_and_workspace_seen_from_a_task(
    wl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wl.in_task() is False and wl.task_args() == {}
    task = orchestration(wl, "pass\n", "quiet").run_once("quiet", json_args={"from": "server"})
    task.wait_for(timeout=120)
    monkeypatch.setenv("TASK_ID", task.id())
    monkeypatch.delenv("JUPYTER_ORCH_TASK_ARGS_FILE", raising=False)
    inside = Client(url=wl._http.url, token=wl.auth.auth_header()["Authorization"].split()[1])
    assert inside.in_task() is True
    assert inside.task_args() == {"from": "server"}  # no args file: asked of the server
    assert inside.get_current_workspace() == wl.get_current_workspace()
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"from": "file"}))
    monkeypatch.setenv("JUPYTER_ORCH_TASK_ARGS_FILE", str(args_file))
    assert inside.task_args() == {"from": "file"}


def test_wait_for_runs_of_a_schedule(wl: Client) -> None:
    orch = orchestration(wl, "print('tick')\n", "ticker")
    task = orch.run_scheduled("every second", "* * * * * *")
    try:
        runs = task.wait_for_runs(2, timeout=30)
        assert len(runs) >= 2 and all(run.status() == "success" for run in runs)
        assert runs[0].logs().texts() == ["tick"]
    finally:
        task.kill()
    once = orch.run_once("once")
    with pytest.raises(WaitTimeout, match="ended runs of 2"):
        once.wait_for_runs(2, timeout=1)
