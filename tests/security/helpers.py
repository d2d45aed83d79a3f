"""Shared steps of the security tests: a workspace, a ready orchestration, a finished run."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.support.server import ServerProcess
from tests.support.zips import make_zip


def workspace(server: ServerProcess, name: str = "ws") -> int:
    return int(server.post("workspaces/create", {"workspace_name": name}).json()["workspace_id"])


def upload(server: ServerProcess, wid: int, files: dict[str, str | bytes], headers: dict[str, str] | None = None,
           zip_bytes: bytes | None = None) -> requests.Response:
    return requests.post(
        server.api + "orchestration/upload",
        headers=headers if headers is not None else server.headers,
        files=[("file", ("job.zip", zip_bytes if zip_bytes is not None else make_zip(files), "application/zip")),
               ("metadata", ("metadata", json.dumps({"workspace_id": wid}), "application/json"))],
        timeout=30,
    )


def ready_orchestration(server: ServerProcess, wid: int, files: dict[str, str | bytes]) -> str:
    orch_id = str(upload(server, wid, files).json()["id"])
    ready = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "terminal", "wait_timeout": 120})
    assert ready.json()["status"] == "ready", ready.json()
    return orch_id


def run_to_end(server: ServerProcess, wid: int, orch_id: str, args: dict[str, Any] | None = None) -> list[str]:
    """Run the orchestration once and return its printed lines (the text after each line's prefix)."""
    task = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": args or {}}).json()
    done = server.post("task/get_by_id", {"id": task["id"], "wait_for": "terminal", "wait_timeout": 120}).json()
    run_id = done["last_runs"][0]["run_id"]
    logs = server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]
    lines = [line.split(" ", 3)[3] for line in logs]
    assert done["status"] == "success", lines
    return lines


def reported(lines: list[str]) -> dict[str, Any]:
    """The JSON object a run printed on a line starting with `REPORT `."""
    (line,) = [line for line in lines if line.startswith("REPORT ")]
    return dict(json.loads(line.removeprefix("REPORT ")))
