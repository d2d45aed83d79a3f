"""The task routes, in-process: shapes exactly as API.md, real runs, 4xx for bad input; on each
database backend and on each executor (local subprocesses, and a real Dask cluster)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.databases import sql
from tests.support.multipart import upload_body
from tests.support.zips import make_zip

UNKNOWN = "8e0f7c3c-8d7a-4e43-9c39-0f3bb1e9c7a1"
TASK_FIELDS = {"id", "name", "workspace_id", "orch_id", "run_type", "schedule", "timeout", "status",
               "input_data", "killed", "created_at", "updated_at", "extra_env_vars", "last_runs",
               "next_run_at", "tz", "end_date", "max_runs", "max_retries", "retry_delay", "on_success", "on_failure",
               "upstream_run_id"}
RUN_FIELDS = {"task", "run_id", "status", "created_at", "updated_at", "started_at", "ended_at",
              "exit_code", "error", "log_lines", "log_truncated", "scheduled_for",
              "engine_id", "worker", "input_data", "timeout", "rerun_of", "retry_of", "attempt",
              "follow_up_task_id"}


@pytest.fixture(autouse=True)
def _on_each_executor(executor: dict[str, Any]) -> None:
    """Requesting `executor` runs each test on the local executor and on the Dask cluster."""


async def ready_orchestration(api: Api, code: str, workspace: str = "ws") -> tuple[int, dict[str, Any]]:
    status, answer = await api("workspaces/create", {"workspace_name": workspace})
    assert status == 200
    wid = answer["workspace_id"]
    body, headers = upload_body(make_zip({"main.py": code}), {"workspace_id": wid, "name": "job"})
    status, answer = await api("orchestration/upload", raw=body, headers=headers)
    assert status == 202
    _, orch = await api("orchestration/get_by_id", {"id": answer["id"], "wait_for": "ready", "wait_timeout": 30})
    assert orch["status"] == "ready"
    return wid, orch


async def wait_task(api: Api, task_id: str, wait_for: Any = "terminal", timeout: float = 60) -> dict[str, Any]:
    status, task = await api("task/get_by_id", {"id": task_id, "wait_for": wait_for, "wait_timeout": timeout})
    assert status == 200
    return task


async def test_run_once_task_runs_and_reports_like_the_reference(api: Api) -> None:
    code = "import sys\nprint('hello')\nprint('careful', file=sys.stderr)\nprint('bye')\n"
    wid, orch = await ready_orchestration(api, code)
    status, answer = await api("task/run_once", {"name": "api run once task", "workspace_id": wid,
                                                 "orch_id": orch["id"], "json": {"n": 1}, "timeout": 30})
    assert status == 201 and set(answer) == {"id"}
    task = await wait_task(api, answer["id"])
    assert set(task) == TASK_FIELDS
    assert task["status"] == "success" and task["run_type"] == "Oneshot" and task["name"] == "api run once task"
    assert task["input_data"] == {"n": 1} and task["timeout"] == 30 and task["killed"] is False
    assert task["schedule"] is None and task["next_run_at"] is None and task["workspace_id"] == wid
    assert task["extra_env_vars"] == {"TASK_ID": task["id"], "ORCH_ID": orch["id"], "ORCH_SHA": orch["sha"],
                                      "ORCH_OWNER_ID": orch["owner_id"]}
    (last,) = task["last_runs"]
    assert set(last) == {"run_id", "status", "created_at", "updated_at", "attempt"} and last["status"] == "success"
    assert task["created_at"].endswith("+00:00")

    status, runs = await api("task/list_task_runs", {"task_id": task["id"]})
    (run,) = runs
    assert status == 200 and set(run) == RUN_FIELDS
    assert run["task"] == task["id"] and run["run_id"] == last["run_id"] and run["exit_code"] == 0
    assert run["started_at"] <= run["ended_at"] and run["log_lines"] == 3
    for wanted, count in (("all", 1), ("success", 1), ("failure", 0), ("running", 0), (None, 1)):
        body = {"task_id": task["id"]} | ({"status": wanted} if wanted else {})
        assert len((await api("task/list_task_runs", body))[1]) == count

    status, answer = await api("task/get_logs_for_run", {"id": run["run_id"]})
    assert status == 200
    logs = answer["logs"]
    # Each stream keeps its order; two pipes read apart have no order between them.
    tagged = [line.split(" ", 1)[1] for line in logs]
    assert [t for t in tagged if t.startswith("stdout")] == ["stdout F hello", "stdout F bye"]
    assert [t for t in tagged if t.startswith("stderr")] == ["stderr F careful"]
    assert logs[0].split(" ")[0].endswith("+00:00")
    assert (await api("task/get_logs_for_run", {"id": run["run_id"], "lines": 1}))[1]["logs"] == logs[-1:]

    assert (await api("task/list", {}))[1][0]["id"] == task["id"]
    assert len((await api("task/list", {"workspace_id": wid, "orch_id": orch["id"], "killed": False}))[1]) == 1
    assert (await api("task/list", {"killed": True}))[1] == []
    assert (await api("task/get_tasks_by_orch_sha", {"sha": orch["sha"]}))[1] == {"ids": [task["id"]]}
    assert (await api("task/get_tasks_by_orch_sha", {"sha": "0" * 64}))[1] == {"ids": []}
    assert (await api("task/get_by_id", {"id": task["id"], "run_limit": 0}))[1]["last_runs"] == []


async def test_failed_run_summary_and_status_filter(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "print('start')\n{}['missing']\n")
    _, answer = await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}})
    task = await wait_task(api, answer["id"])
    assert task["status"] == "failed"
    _, runs = await api("task/list_task_runs", {"task_id": task["id"], "status": "failure", "limit": 5})
    assert runs[0]["error"] == "KeyError: 'missing'" and runs[0]["exit_code"] == 1


async def test_scheduled_task_runs_on_its_seconds_schedule_and_is_killed(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "print('tick')\n")
    status, answer = await api("task/run_scheduled", {"name": "scheduled api task", "workspace_id": wid,
                                                      "orch_id": orch["id"], "schedule": "*/2 * * * * *",
                                                      "json": {}})
    assert status == 201
    task = await wait_task(api, answer["id"], "started")
    assert task["run_type"] == "CronJob" and task["schedule"] == "*/2 * * * * *" and task["next_run_at"]
    wait = {"task_id": task["id"], "status": "ended", "wait_for_count": 2, "wait_timeout": 15}
    _, runs = await api("task/list_task_runs", wait)
    assert len(runs) >= 2 and runs[0]["scheduled_for"] and runs[0]["status"] == "success"
    assert runs[0]["scheduled_for"] > runs[1]["scheduled_for"]
    status, killed = await api("task/kill", {"id": task["id"]})
    assert status == 202 and killed["status"] in ("pending_kill", "killed") and killed["killed"] is True
    task = await wait_task(api, task["id"], "killed", 10)
    assert task["status"] == "killed" and task["next_run_at"] is None
    assert [t["id"] for t in (await api("task/list", {"killed": True}))[1]] == [task["id"]]


async def test_waiting_for_runs_times_out_with_what_there_is(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "print('once')\n")
    _, answer = await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}})
    wait = {"task_id": answer["id"], "status": "ended", "wait_for_count": 2, "wait_timeout": 0.5}
    status, runs = await api("task/list_task_runs", wait)
    assert status == 200 and len(runs) <= 1
    bad = {"task_id": answer["id"], "wait_for_count": "two"}
    assert (await api("task/list_task_runs", bad))[0] == 400


async def test_tutorial_schedule_that_has_ended_leaves_a_finished_task(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "print(1)\n")
    _, answer = await api("task/run_scheduled", {"workspace_id": wid, "orch_id": orch["id"],
                                                 "schedule": "0 0 12 1-15 2 2024", "json": {}})
    task = (await api("task/get_by_id", {"id": answer["id"]}))[1]
    assert task["status"] == "success" and task["next_run_at"] is None and task["last_runs"] == []


async def test_continuous_task_is_started_and_killed(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "import time\nprint('serving')\ntime.sleep(60)\n")
    status, answer = await api("task/run_continuously", {"workspace_id": wid, "orch_id": orch["id"], "json": {}})
    assert status == 201
    task = await wait_task(api, answer["id"], "started")
    assert task["run_type"] == "NetworkService"
    for _ in range(100):
        _, runs = await api("task/list_task_runs", {"task_id": task["id"], "status": "running"})
        if runs:
            break
        await asyncio.sleep(0.1)
    status, killed = await api("task/kill", {"id": task["id"]})
    assert status == 202 and killed["status"] == "pending_kill"
    assert (await wait_task(api, task["id"], "killed", 20))["status"] == "killed"
    _, runs = await api("task/list_task_runs", {"task_id": task["id"]})
    assert [r["status"] for r in runs] == ["killed"]


@pytest.mark.parametrize(
    ("route", "override", "code", "words"),
    [
        ("task/run_once", {"orch_id": UNKNOWN}, 404, "does not exist"),
        ("task/run_once", {"orch_id": "not-a-uuid"}, 400, "UUID"),
        ("task/run_once", {"workspace_id": 999}, 404, "999"),
        ("task/run_once", {"json": [1, 2]}, 400, "JSON object"),
        ("task/run_once", {"json": "{}"}, 400, "JSON object"),
        ("task/run_once", {"timeout": -5}, 400, "timeout"),
        ("task/run_once", {"timeout": True}, 400, "timeout"),
        ("task/run_scheduled", {"schedule": "every day"}, 400, "cron"),
        ("task/run_scheduled", {"schedule": "61 * * * *"}, 400, "cron"),
        ("task/run_scheduled", {}, 400, "schedule"),
        ("task/run_continuously", {"json": 3}, 400, "JSON object"),
        ("task/run_once", {"orch_id": "NOT_READY"}, 409, "not ready"),
    ],
)
async def test_bad_task_requests_are_4xx_and_create_nothing(
    api: Api, jp_serverapp: Any, route: str, override: dict[str, Any], code: int, words: str
) -> None:
    wid, orch = await ready_orchestration(api, "print(1)\n")
    if override.get("orch_id") == "NOT_READY":
        engine = jp_serverapp.web_app.settings["orch_engine"]
        sql(engine.store.url, "UPDATE orchestrations SET status = 'packaging' WHERE id = :o", o=orch["id"])
        override = {"orch_id": orch["id"]}
    body = {"workspace_id": wid, "orch_id": orch["id"], "json": {}, **override}
    status, error = await api(route, body)
    assert status == code, error
    assert error["code"] == code and words in error["msg"]
    assert (await api("task/list", {}))[1] == []


async def test_unknown_and_malformed_ids(api: Api) -> None:
    for route, body in (("task/get_by_id", {"id": UNKNOWN}), ("task/kill", {"id": UNKNOWN}),
                        ("task/list_task_runs", {"task_id": UNKNOWN}),
                        ("task/get_logs_for_run", {"id": UNKNOWN})):
        status, error = await api(route, body)
        assert status == 404 and "does not exist" in error["msg"], route
    for route, body in (("task/get_by_id", {"id": "x"}), ("task/list_task_runs", {}),
                        ("task/get_logs_for_run", {"id": UNKNOWN, "lines": -1}),
                        ("task/list", {"killed": "yes"}), ("task/get_tasks_by_orch_sha", {}),
                        ("task/list_task_runs", {"task_id": UNKNOWN, "status": "sleeping"}),
                        ("task/get_by_id", {"id": UNKNOWN, "wait_for": 5})):
        assert (await api(route, body))[0] == 400, route


async def test_task_routes_need_authentication(jp_fetch: Any, api: Api) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("v1", "api", "task", "list", method="POST", body="{}", headers={"Authorization": ""})
    assert caught.value.code in (401, 403)
