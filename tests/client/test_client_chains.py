"""Chains through a real server: on_success / on_failure on the task/run_once, run_scheduled and
run_continuously bodies and task/update_chain, the follow-up's `upstream_run_id`, what the
task and its runs show, the 4xx answers (loops, other workspaces, bad bodies) that change
nothing, and the client methods on top of them."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_orch.client import Client, Orchestration
from jupyter_orch.client.errors import ApiError
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

ECHO = "from jupyter_orch import Client\nprint('args', Client().task_args())\n"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def orchestration(wl: Client, code: str, name: str) -> Orchestration:
    return wl.upload_orchestration(bytes_buffer=make_zip({"main.py": code}), name=name).wait_for_ready(60)


def held(server: ServerProcess, task_id: str) -> dict[str, Any]:
    answer = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 60})
    return dict(answer.json())


def chains(server: ServerProcess, wid: int) -> list[tuple[str, Any, Any]]:
    tasks = server.post("task/list", {"workspace_id": wid}).json()
    return [(task["id"], task["on_success"], task["on_failure"]) for task in tasks]


def test_chains_through_the_rest_api(wl: Client, orch_server: ServerProcess) -> None:
    job, echo, other = (orchestration(wl, code, name) for code, name in
                        (("print('job')\n", "job"), (ECHO, "echo"), ("pass\n", "other")))
    wid = job.workspace_id()
    body = {"workspace_id": wid, "orch_id": job.id(), "name": "upstream",
            "on_success": {"orch_id": echo.id(), "name": "then", "json": {"rows": 3}, "max_retries": 1}}
    created = orch_server.post("task/run_once", body)
    assert created.status_code == 201, created.json()
    task = held(orch_server, created.json()["id"])
    assert task["on_success"] == {"orch_id": echo.id(), "workspace_id": wid, "name": "then", "json": {"rows": 3},
                                  "max_retries": 1}
    assert task["on_failure"] is None and task["upstream_run_id"] is None
    (run,) = orch_server.post("task/list_task_runs", {"task_id": task["id"]}).json()
    follow = held(orch_server, run["follow_up_task_id"])
    assert follow["status"] == "success" and follow["name"] == "then" and follow["upstream_run_id"] == run["run_id"]
    assert follow["input_data"] == {"rows": 3, "upstream_run_id": run["run_id"]} and follow["max_retries"] == 1
    logs = orch_server.post("task/get_logs_for_run", {"id": follow["last_runs"][0]["run_id"]}).json()["logs"]
    assert any(f"args {{'rows': 3, 'upstream_run_id': '{run['run_id']}'}}" in line for line in logs)

    # Edits: set, then clear; the schedule and continuous bodies take chains too.
    cron = orch_server.post("task/run_scheduled", {"workspace_id": wid, "orch_id": other.id(), "schedule": "@yearly",
                                                   "on_failure": {"orch_id": echo.id()}}).json()["id"]
    edited = orch_server.post("task/update_chain", {"id": cron, "on_success": {"orch_id": job.id()}}).json()
    assert edited["on_success"]["orch_id"] == job.id() and edited["on_failure"]["orch_id"] == echo.id()
    cleared = orch_server.post("task/update_chain", {"id": cron, "on_failure": None}).json()
    assert cleared["on_failure"] is None and cleared["on_success"]["orch_id"] == job.id()
    service = orch_server.post("task/run_continuously", {"workspace_id": wid, "orch_id": other.id(),
                                                         "on_success": {"orch_id": echo.id()}})
    assert service.status_code == 201
    orch_server.post("task/kill", {"id": service.json()["id"]})

    # Refused, changing nothing: loops (other -> job -> other, through the scheduled task), bad bodies.
    before = chains(orch_server, wid)
    refusals = [
        ("task/run_once", {**body, "orch_id": job.id(), "on_success": {"orch_id": other.id()}}, 400, "loop"),
        ("task/run_once", {**body, "on_success": {"orch_id": echo.id(), "on_failure": {"orch_id": job.id()}}},
         400, "loop"),
        ("task/update_chain", {"id": cron, "on_failure": {"orch_id": other.id()}}, 400, "loop"),
        ("task/run_once", {**body, "on_success": {"orch_id": "nope"}}, 400, "'on_success'"),
        ("task/run_once", {**body, "on_success": {"json": {}}}, 400, "'on_success'"),
        ("task/run_once", {**body, "on_failure": {"orch_id": UNKNOWN}}, 404, UNKNOWN),
        ("task/run_once", {**body, "on_failure": {"orch_id": echo.id(), "workspace_id": wid + 1000}}, 400,
         "workspace"),
        ("task/update_chain", {"id": UNKNOWN, "on_success": None}, 404, UNKNOWN),
    ]
    for route, refused_body, status, words in refusals:
        answer = orch_server.post(route, refused_body)
        assert (answer.status_code, answer.json()["code"]) == (status, status), (refused_body, answer.json())
        assert words in answer.json()["msg"], answer.json()
    assert chains(orch_server, wid) == before
    orch_server.post("task/kill", {"id": cron})


def test_chains_through_the_client(wl: Client) -> None:
    failing = orchestration(wl, "raise SystemExit('boom')\n", "failing")
    cleanup = orchestration(wl, ECHO, "cleanup")
    task = failing.run_once("flaky", max_retries=1, retry_delay=0.1,
                            on_failure=cleanup.follow_up("cleanup", {"why": "failed"})).wait_for(timeout=60)
    assert task.status() == "failed" and task.on_failure() is not None and task.on_success() is None
    assert "<th>on failure</th><td>cleanup</td>" in task._repr_html_()
    final, first = task.last_runs()
    assert first.follow_up_task_id() is None and final.follow_up_task_id() is not None
    assert f"<th>started task</th><td>{final.follow_up_task_id()}</td>" in final._repr_html_()
    follow = final.follow_up()
    assert follow is not None and follow.upstream_run_id() == final.id()
    follow.wait_for(timeout=60)
    (follow_run,) = follow.last_runs()
    assert follow_run.upstream_run_id() == final.id() and f"<th>started by run</th><td>{final.id()}" in (
        follow_run._repr_html_())
    assert f"args {{'why': 'failed', 'upstream_run_id': '{final.id()}'}}" in follow_run.logs().texts()
    with pytest.raises(ApiError, match=rf"failing \({failing.id()}\) -> cleanup \({cleanup.id()}\) -> failing"):
        task.update_chain(on_success=cleanup.follow_up(on_success=failing.follow_up("again")))
    last = orchestration(wl, "pass\n", "last")
    chained = task.update_chain(on_success=cleanup.follow_up(on_success=last.follow_up("again")))
    assert chained.on_success() == {"orch_id": cleanup.id(), "workspace_id": cleanup.workspace_id(),
                                    "on_success": {"orch_id": last.id(), "workspace_id": last.workspace_id(),
                                                   "name": "again"}}
    assert "<th>on success</th><td>orchestration " in chained._repr_html_()
    assert "(on success: again)</td>" in chained._repr_html_()
    assert task.update_chain(on_success=None, on_failure=None).on_failure() is None
