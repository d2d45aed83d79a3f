"""Artifacts: what a run writes under `outputs/` is kept after it, listed (paged) and served by an
authenticated GET; nothing outside the run's folder can be reached, runs may not read them,
and they go with their run (delete, retention) or with a start-up after a crash mid-move."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_orch.engine.leftovers import remove_leftovers
from tests.api.test_retention import engine_of
from tests.api.test_tasks_api import ready_orchestration, wait_task
from tests.api.test_tasks_server import ready_orchestration as ready_on_server
from tests.api.test_tasks_server import workspace
from tests.conftest import Api
from tests.support.server import ServerProcess

WRITES_OUTPUTS = (
    "import json, os, pathlib, urllib.error, urllib.request\n"
    "out = pathlib.Path('outputs')\n"
    "(out / 'sub').mkdir(parents=True)\n"
    "(out / 'report.txt').write_text('hello artifacts')\n"
    "(out / 'sub' / 'data.bin').write_bytes(bytes(range(256)))\n"
    "os.symlink('/etc/hostname', out / 'link')\n"
    "pathlib.Path('not-an-output.txt').write_text('stays in the working folder')\n"
    "url = os.environ['JUPYTER_ORCH_URL'].rstrip('/') + '/v1/api/task/list_run_artifacts'\n"
    "request = urllib.request.Request(url, data=json.dumps({'id': os.environ['RUN_ID']}).encode(), headers={\n"
    "    'Authorization': 'Bearer ' + os.environ['JUPYTER_ORCH_TOKEN'], 'Content-Type': 'application/json'})\n"
    "try:\n"
    "    print('the run may list artifacts:', urllib.request.urlopen(request).status)\n"
    "except urllib.error.HTTPError as refused:\n"
    "    print('the run may list artifacts:', refused.code)\n"
)


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])  # the `server` fixture's
def test_a_runs_outputs_are_listed_downloaded_and_deleted_with_it(server: ServerProcess) -> None:
    wid = workspace(server)
    orch_id = ready_on_server(server, wid, WRITES_OUTPUTS)
    task_id = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 60}).json()
    run_id = task["last_runs"][0]["run_id"]
    logs = server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]
    assert task["status"] == "success", logs
    assert any(line.endswith("the run may list artifacts: 403") for line in logs), logs

    listed = server.post("task/list_run_artifacts", {"id": run_id})
    artifacts = listed.json()["artifacts"]
    assert [(a["path"], a["size"]) for a in artifacts] == [("report.txt", 15), ("sub/data.bin", 256)]
    assert listed.headers["x-iteration-status"] == "All"
    report = requests.get(server.url.rstrip("/") + artifacts[0]["url"], headers=server.headers, timeout=30)
    assert report.content == b"hello artifacts" and report.headers["Content-Type"].startswith("text/plain")
    data = requests.get(server.url.rstrip("/") + artifacts[1]["url"], headers=server.headers, timeout=30)
    assert data.content == bytes(range(256))
    assert not (server.data_dir / "runs" / run_id).exists()  # the run's own folder is gone, its outputs kept
    assert (server.data_dir / "artifacts" / run_id / "report.txt").read_text() == "hello artifacts"

    first = server.post("task/list_run_artifacts", {"id": run_id, "limit": 1})
    assert [a["path"] for a in first.json()["artifacts"]] == ["report.txt"]
    assert first.headers["x-iteration-status"] == "SomeRemaining"
    rest = server.post("task/list_run_artifacts", {"id": run_id, "limit": 1,
                                                   "cursor": first.headers["x-iteration-cursor"]})
    assert [a["path"] for a in rest.json()["artifacts"]] == ["sub/data.bin"]
    assert "x-iteration-cursor" not in rest.headers

    def get(path: str, run: str = run_id, **kwargs: Any) -> requests.Response:
        return requests.get(f"{server.api}task/artifact/{run}", params={"path": path},
                            headers=kwargs.get("headers", server.headers), timeout=30)

    for bad in ("../../secret.key", "/etc/passwd", "sub/../report.txt", "", "sub\\data.bin"):
        refused = get(bad)
        assert (refused.status_code, refused.json()["code"]) == (400, 400), bad
    assert get("link").status_code == 404  # the symlink the run made was not kept
    assert get("sub").status_code == 404
    assert get("report.txt", run=str(uuid.uuid4())).status_code == 404
    assert get("report.txt", run="not-a-run").status_code == 400
    assert get("report.txt", headers={}).status_code == 403
    assert server.post("task/list_run_artifacts", {"id": str(uuid.uuid4())}).status_code == 404
    assert server.post("task/list_run_artifacts", {"id": run_id, "cursor": "nope"}).status_code == 400

    assert server.post("task/delete", {"id": task_id}).status_code == 200
    assert not (server.data_dir / "artifacts" / run_id).exists()
    assert server.post("task/list_run_artifacts", {"id": run_id}).status_code == 404


OUTPUT_CODE = "import pathlib\npathlib.Path('outputs').mkdir()\npathlib.Path('outputs/n.txt').write_text('x' * 100)\n"


async def test_retention_removes_the_artifacts_of_the_runs_it_removes(
    api: Api, jp_serverapp: Any, orch_data_dir: Path
) -> None:
    wid, orch = await ready_orchestration(api, OUTPUT_CODE)
    cron = (await api("task/run_scheduled", {"workspace_id": wid, "orch_id": orch["id"], "json": {},
                                             "schedule": "* * * * * *"}))[1]["id"]
    await api("task/list_task_runs", {"task_id": cron, "status": "success", "wait_for_count": 3, "wait_timeout": 60})
    await api("task/kill", {"id": cron})
    await wait_task(api, cron)
    runs = [r["run_id"] for r in (await api("task/list_task_runs", {"task_id": cron, "status": "success"}))[1]]
    artifacts = orch_data_dir / "artifacts"
    assert all((artifacts / run_id / "n.txt").exists() for run_id in runs)
    orphan = artifacts / str(uuid.uuid4())  # a run removed while its artifacts' removal was cut short
    orphan.mkdir()
    (orphan / "left.txt").write_text("y" * 50)

    engine = engine_of(jp_serverapp)
    engine.retention.settings = replace(engine.retention.settings, keep_runs_per_task=1)
    swept = await engine.retention.sweep()
    assert swept.bytes >= 100 * (len(runs) - 1) + 50
    assert (artifacts / runs[0] / "n.txt").exists()  # the newest run's
    assert not any((artifacts / run_id).exists() for run_id in runs[1:]) and not orphan.exists()
    status, answer = await api("orchestration/delete_orchestrations", {"orchestrations": [orch["id"]]})
    assert status == 200 and answer["bytes"] >= 100
    assert os.listdir(artifacts) == []


def test_a_move_cut_short_is_removed_at_start_up(tmp_path: Path) -> None:
    staging = tmp_path / "artifacts" / f".incoming-{uuid.uuid4()}"
    (staging / "sub").mkdir(parents=True)
    (staging / "sub" / "half.txt").write_text("half moved")
    kept = tmp_path / "artifacts" / str(uuid.uuid4())
    kept.mkdir()
    assert remove_leftovers(tmp_path, set()) == [staging]
    assert not staging.exists() and kept.exists()
