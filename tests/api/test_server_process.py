"""The tutorial's raw-HTTP flow against a real `jupyter server` process, and restarts."""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty

import requests

from jupyter_orch.engine.store.database import sqlite_url
from tests.support.databases import sql
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

ZIP = make_zip({"remote_inference/main.py": "print('inference')\n", "remote_inference/requirements.txt": ""})


def upload(server: ServerProcess, workspace_id: int, data: bytes = ZIP) -> str:
    metadata = f'{{"workspace_id": {workspace_id},"name": "apiorchestrationsample"}}'
    response = requests.post(
        server.api + "orchestration/upload",
        headers=server.headers,
        files=[
            ("file", ("api_inference_orchestration.zip", data, "application/octet-stream")),
            ("metadata", ("metadata", metadata, "application/json")),
        ],
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_tutorial_upload_list_and_get_by_id(server: ServerProcess) -> None:
    created = server.post("workspaces/create", {"workspace_name": "apiorchestrationworkspace"})
    workspace_id = created.json()["workspace_id"]
    orchestration_id = upload(server, workspace_id)

    listed = server.post("orchestration/list", {"workspace_id": workspace_id}).json()
    assert [o["id"] for o in listed] == [orchestration_id]
    assert listed[0]["file_name"] == "api_inference_orchestration.zip"
    assert listed[0]["status"] in ("pending_packaging", "packaging", "ready")

    ready = server.post("orchestration/get_by_id", {"id": orchestration_id, "wait_for": "ready"}).json()
    assert ready["status"] == "ready"
    assert ready["entrypoint"] == "remote_inference/main.py"
    plain = server.post("orchestration/get_by_id", {"id": orchestration_id}).json()
    assert plain["sha"] == ready["sha"] and plain["status"] == "ready"

    anonymous = requests.post(server.api + "orchestration/list_all", json={}, timeout=10)
    assert anonymous.status_code in (401, 403)
    assert "apiorchestrationsample" not in anonymous.text
    assert anonymous.json() == {"msg": "authentication required: send 'Authorization: Bearer <token>'", "code": 403}
    token_scheme = requests.post(
        server.api + "orchestration/list_all", json={}, headers={"Authorization": f"token {server.token}"}, timeout=10
    )
    assert [o["id"] for o in token_scheme.json()] == [orchestration_id]


def test_packaging_interrupted_by_a_crash_is_finished_on_restart(tmp_path: Path, db_url: str | None) -> None:
    extra = [f"--OrchApp.db_url={db_url}"] if db_url else []
    first = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "data", extra_args=extra).start()
    try:
        wid = first.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"]
        slow = upload(first, wid, make_zip({"main.py": "import six\n", "requirements.txt": "six==1.16.0\n"}))
        quick = upload(first, wid)
        first.post("orchestration/get_by_id", {"id": quick, "wait_for": "ready"})
    finally:
        first.crash()
    # Whatever the crash interrupted, make sure one orchestration is caught mid-packaging.
    url = db_url or sqlite_url(tmp_path / "data" / "orch.sqlite3")
    sql(url, "UPDATE orchestrations SET status = 'packaging' WHERE id = :o", o=quick)

    second = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "data", extra_args=extra).start()
    try:
        for orch_id in (slow, quick):
            wait = {"id": orch_id, "wait_for": "terminal", "wait_timeout": 120}
            answer = second.post("orchestration/get_by_id", wait).json()
            assert answer["status"] == "ready", answer
        assert len(second.post("orchestration/list_all").json()) == 2
    finally:
        second.stop()


def test_kernels_started_by_the_server_find_it(server: ServerProcess) -> None:
    from jupyter_client.blocking.client import BlockingKernelClient
    from jupyter_core.paths import jupyter_runtime_dir

    kernels = server.url + "api/kernels"
    kernel = requests.post(kernels, headers=server.headers, json={"name": "python3"}, timeout=60).json()
    try:
        connection_file = Path(jupyter_runtime_dir()) / f"kernel-{kernel['id']}.json"
        client = BlockingKernelClient(connection_file=str(connection_file))
        client.load_connection_file()
        client.start_channels()
        # The heartbeat may not beat yet: ask the shell, until a message on IOPub says that is
        # connected too (output sent before it is would be lost, and the execute below wait for ever).
        deadline = time.monotonic() + 60
        while True:
            client.kernel_info(reply=True, timeout=60)
            try:
                client.get_iopub_msg(timeout=0.5)
                break
            except Empty:
                assert time.monotonic() < deadline, "the kernel's IOPub never connected"
        seen: list[str] = []
        client.execute_interactive(
            "import os; print(os.environ['JUPYTER_ORCH_URL'], os.environ['JUPYTER_ORCH_TOKEN'])",
            output_hook=lambda msg: seen.append(msg["content"].get("text", "")),
            timeout=60,
        )
        client.stop_channels()
        assert "".join(seen).split() == [server.url, server.token]
    finally:
        requests.delete(f"{kernels}/{kernel['id']}", headers=server.headers, timeout=30)


def test_the_tutorials_poll_for_started_sees_it(server: ServerProcess) -> None:
    """The reference tutorial polls `task/get_by_id` every 5 s until `started`: the first look
    must already see it, or a run that ends before the second look leaves that loop spinning."""
    wid = server.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"]
    orch_id = upload(server, wid, make_zip({"main.py": "import time\nprint('working')\ntime.sleep(1)\n"}))
    server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready"})
    data = {"name": "api run once task", "workspace_id": wid, "orch_id": orch_id, "json": {}}
    task_id = server.post("task/run_once", data).json()["id"]
    first_look = server.post("task/get_by_id", {"id": task_id}).json()
    assert first_look["status"] == "started"
    assert first_look["last_runs"][0]["status"] == "running"
