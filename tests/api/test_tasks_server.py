"""Tasks against a real `jupyter server` process: crash recovery and the push channel."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from tests.support.logevents import lines_of
from tests.support.processes import alive
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

LEASE_S = 10.0  # the default `c.OrchApp.lease_seconds`, which these servers keep

LONG_RUN = (
    "import json, os, subprocess, sys, time\n"
    "args = json.load(open(os.environ['JUPYTER_ORCH_TASK_ARGS_FILE']))\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "open(args['pids'], 'w').write(f'{os.getpid()} {child.pid}')\n"
    "print('working', flush=True)\n"
    "time.sleep(120)\n"
)


def workspace(server: ServerProcess) -> int:
    return server.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"]


def ready_orchestration(server: ServerProcess, wid: int, code: str) -> str:
    response = requests.post(
        server.api + "orchestration/upload",
        headers=server.headers,
        files=[("file", ("job.zip", make_zip({"main.py": code}), "application/octet-stream")),
               ("metadata", ("metadata", json.dumps({"workspace_id": wid}), "application/json"))],
        timeout=30,
    )
    orch_id = response.json()["id"]
    ready = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready", "wait_timeout": 60})
    assert ready.json()["status"] == "ready"
    return orch_id



def until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
    return value


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])  # the `server` fixture's
def test_a_crash_fails_the_running_run_and_schedules_resume(server: ServerProcess, tmp_path: Path) -> None:
    wid = workspace(server)
    orch_id = ready_orchestration(server, wid, LONG_RUN)
    pids_file = tmp_path / "pids"
    long_task = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id,
                                              "json": {"pids": str(pids_file)}}).json()["id"]
    tick_orch = ready_orchestration(server, wid, "print('tick')\n")
    ticker = server.post("task/run_scheduled", {"workspace_id": wid, "orch_id": tick_orch,
                                                "schedule": "* * * * * *", "json": {}}).json()["id"]
    leader, child = map(int, until(lambda: pids_file.exists() and pids_file.read_text()).split())
    assert alive(leader) and alive(child)
    run_id = server.post("task/get_by_id", {"id": long_task}).json()["last_runs"][0]["run_id"]
    until(lambda: "working" in str(server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]))

    server.crash()
    assert alive(leader)  # a run is in its own session: the crash alone does not end it
    restarted_at = time.time()
    again = ServerProcess(root=server.root, data_dir=server.data_dir, extra_args=server.extra_args).start()
    try:
        # On SQLite the data dir's lock proves the old engine gone: its runs are recovered at
        # start-up. On PostgreSQL the new engine waits for the old one's lease to expire.
        (run,) = until(lambda: [r for r in again.post("task/list_task_runs", {"task_id": long_task}).json()
                                if r["status"] != "running"], LEASE_S + 10)
        assert run["status"] == "failure" and "server restarted" in run["error"]
        logs = again.post("task/get_logs_for_run", {"id": run["run_id"]}).json()["logs"]
        assert logs[0].endswith("stdout F working")
        assert "the server restarted while this run was running" in logs[-1]
        # The task ends after its run: once the follow-ups its run's end calls for are queued.
        until(lambda: again.post("task/get_by_id", {"id": long_task}).json()["status"] == "failed", 10)
        until(lambda: not alive(leader) and not alive(child), 10)

        def ran_since_restart() -> bool:
            runs = again.post("task/list_task_runs", {"task_id": ticker, "status": "success"}).json()
            return any(r["started_at"] > _iso(restarted_at) for r in runs)

        until(ran_since_restart)
        assert again.post("task/get_by_id", {"id": ticker}).json()["status"] == "started"
        assert again.post("task/kill", {"id": ticker}).status_code == 202
    finally:
        again.stop()


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


async def test_push_channel_delivers_run_and_log_events(server: ServerProcess) -> None:
    wid = await asyncio.to_thread(workspace, server)
    orch_id = await asyncio.to_thread(ready_orchestration, server, wid, "print('pushed line')\n")
    url = f"ws://127.0.0.1:{server.port}/v1/api/events?kinds=run,log&token={server.token}"
    socket = await websocket_connect(url)
    try:
        response = await asyncio.to_thread(
            server.post, "task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}
        )
        task_id = response.json()["id"]
        seen: list[dict[str, Any]] = []
        while not any(e["kind"] == "run" and e["status"] == "success" for e in seen):
            message = await asyncio.wait_for(socket.read_message(), 20)
            assert message is not None, "the server closed the push channel"
            seen.append(json.loads(message))
    finally:
        socket.close()
    assert {e["kind"] for e in seen} == {"run", "log"}
    runs = [e for e in seen if e["kind"] == "run"]
    assert [e["status"] for e in runs] == ["pending", "running", "success"]
    assert all(e["task_id"] == task_id for e in seen)
    (log,) = [e for e in seen if e["kind"] == "log"]
    assert [(line["text"], line["stream"], line["seq"]) for line in lines_of(log)] == [("pushed line", "stdout", 0)]
    assert log["id"] == log["run_id"] == runs[0]["id"] and log["at"]


async def test_a_chatty_run_reaches_a_subscriber_in_few_batches(server: ServerProcess) -> None:
    wid = await asyncio.to_thread(workspace, server)
    code = "for i in range(20000):\n    print(i)\n"
    orch_id = await asyncio.to_thread(ready_orchestration, server, wid, code)
    socket = await websocket_connect(f"ws://127.0.0.1:{server.port}/v1/api/events?kinds=run,log&token={server.token}")
    try:
        await asyncio.to_thread(server.post, "task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}})
        texts: list[str] = []
        batches = 0
        while len(texts) < 20000:
            event = json.loads(await asyncio.wait_for(socket.read_message(), 30) or "{}")
            assert event["kind"] in ("run", "log"), event
            if event["kind"] == "log":
                batches += 1
                texts += [line["text"] for line in lines_of(event)]
    finally:
        socket.close()
    assert texts == [str(i) for i in range(20000)]
    assert batches < 200  # at most ten a second per run, whatever the run prints


async def test_state_changes_go_out_on_jupyter_servers_event_system(server: ServerProcess) -> None:
    wid = await asyncio.to_thread(workspace, server)
    orch_id = await asyncio.to_thread(ready_orchestration, server, wid, "print('x')\n")
    socket = await websocket_connect(f"ws://127.0.0.1:{server.port}/api/events/subscribe?token={server.token}")
    try:
        response = await asyncio.to_thread(
            server.post, "task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}
        )
        task_id = response.json()["id"]
        runs: list[dict[str, Any]] = []
        while not any(e.get("status") == "success" for e in runs):
            event = json.loads(await asyncio.wait_for(socket.read_message(), 20) or "{}")
            if event["schema_id"] == "https://events.jupyter.org/jupyter_orch/run/v1":
                runs.append(event)
    finally:
        socket.close()
    assert [e["status"] for e in runs] == ["pending", "running", "success"]
    assert all(e["task_id"] == task_id and e["at"] for e in runs)


async def test_push_channel_refuses_an_unauthenticated_socket(server: ServerProcess) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(f"ws://127.0.0.1:{server.port}/v1/api/events")
    assert refused.value.code in (401, 403)
    with pytest.raises(HTTPClientError):
        await websocket_connect(f"ws://127.0.0.1:{server.port}/v1/api/events?token=wrong")
