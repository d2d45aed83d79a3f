"""The server's task settings reach the engine: OrchApp.max_concurrent_runs = 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.test_tasks_api import ready_orchestration, wait_task
from tests.conftest import Api


@pytest.fixture
def jp_server_config(orch_data_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orch": True}},
        "OrchApp": {"data_dir": str(orch_data_dir), "max_concurrent_runs": 1, "kill_grace_seconds": 1.0},
    }


async def test_second_task_stays_pending_until_the_first_ends(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "import time\nprint('working')\ntime.sleep(1.5)\n")
    body = {"workspace_id": wid, "orch_id": orch["id"], "json": {}}
    first = (await api("task/run_once", body))[1]["id"]
    second = (await api("task/run_once", body))[1]["id"]
    assert (await wait_task(api, first, "started", 20))["status"] == "started"
    waiting = (await api("task/get_by_id", {"id": second}))[1]
    assert waiting["status"] == "pending" and waiting["last_runs"][0]["status"] == "pending"
    assert (await wait_task(api, first))["status"] == "success"
    assert (await wait_task(api, second))["status"] == "success"
    (run1,) = (await api("task/list_task_runs", {"task_id": first}))[1]
    (run2,) = (await api("task/list_task_runs", {"task_id": second}))[1]
    assert run2["started_at"] >= run1["ended_at"]


async def test_killing_a_queued_task_ends_it_at_once(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "import time\ntime.sleep(30)\n")
    body = {"workspace_id": wid, "orch_id": orch["id"], "json": {}}
    first = (await api("task/run_once", body))[1]["id"]
    queued = (await api("task/run_once", body))[1]["id"]
    await wait_task(api, first, "started", 20)
    status, task = await api("task/kill", {"id": queued})
    assert status == 202 and task["status"] == "killed" and task["last_runs"][0]["status"] == "killed"
    await api("task/kill", {"id": first})
    assert (await wait_task(api, first, "killed", 20))["status"] == "killed"
