"""One engine owns a SQLite data dir: a second server on the same data dir starts, but its
jupyter-orch API answers 503 naming the owner, and the first server's work goes on untouched.
SIGKILL of the owner frees the data dir. (Servers on one PostgreSQL share it: tests/team.)"""

from __future__ import annotations

from pathlib import Path

from tests.support.server import ServerProcess
from tests.support.zips import make_zip

SQLITE_ONLY = True


def test_a_second_server_refuses_the_database_and_leaves_the_first_alone(
    tmp_path: Path,
) -> None:
    first = ServerProcess(root=tmp_path / "a", data_dir=tmp_path / "data").start()
    second: ServerProcess | None = None
    try:
        wid = first.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"]
        orch_id = first.upload_orchestration(wid, make_zip({"main.py": "import time\ntime.sleep(120)\n"}))
        first.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready"})
        task_id = first.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]

        second = ServerProcess(root=tmp_path / "b", data_dir=tmp_path / "data").start()
        refused = second.post("workspaces/list")
        assert refused.status_code == 503
        answer = refused.json()
        assert answer["code"] == 503 and "another jupyter-orch server" in answer["msg"]
        assert str(first.proc.pid) in answer["msg"] and str(first.port) in answer["msg"]
        assert second.post("task/get_by_id", {"id": task_id}).status_code == 503

        task = first.post("task/get_by_id", {"id": task_id}).json()
        assert task["status"] == "started"  # the first server's run was not touched
        assert first.post("task/kill", {"id": task_id}).status_code == 202
        done = first.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 30}).json()
        assert done["status"] == "killed"

        first.crash()  # SIGKILL: the operating system lets go of the lock
        second.stop()
        second = ServerProcess(root=tmp_path / "b", data_dir=tmp_path / "data").start()
        assert second.post("task/get_by_id", {"id": task_id}).json()["status"] == "killed"
    finally:
        first.stop()
        if second is not None:
            second.stop()
