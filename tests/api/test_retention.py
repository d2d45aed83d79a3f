"""Deleting and retention, in-process on each database: rows, logs, blobs and unpacked trees
go, the bytes freed are answered, an active task is not deleted by surprise."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPClientError

from tests.api.test_pipelines_api import RECORDS, SMOKE, deployed_pipeline
from tests.api.test_tasks_api import ready_orchestration, wait_task
from tests.conftest import Api
from tests.support.multipart import upload_body
from tests.support.zips import make_zip

CODE = "print('to be deleted')\n"


def engine_of(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["orch_engine"]


async def test_deleting_an_orchestration_frees_its_bytes_and_removes_its_tasks(
    api: Api, jp_serverapp: Any, orch_data_dir: Path
) -> None:
    wid, orch = await ready_orchestration(api, CODE)
    task_id = (await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}}))[1]["id"]
    run_id = (await wait_task(api, task_id))["last_runs"][0]["run_id"]
    blob = orch_data_dir / "blobs" / orch["sha"][:2] / orch["sha"]
    tree = orch_data_dir / "unpacked" / orch["sha"]
    assert blob.exists() and tree.exists()
    zip_bytes = blob.stat().st_size

    status, answer = await api("orchestration/delete_orchestrations", {"orchestrations": [orch["id"]]})
    assert status == 200 and answer["bytes"] > zip_bytes  # the zip and its unpacked tree
    assert not blob.exists() and not tree.exists()
    assert (await api("orchestration/get_by_id", {"id": orch["id"]}))[0] == 404
    assert (await api("task/get_by_id", {"id": task_id}))[0] == 404
    assert (await api("task/get_logs_for_run", {"id": run_id}))[0] == 404


async def test_a_zip_two_orchestrations_share_stays_until_both_are_gone(api: Api, orch_data_dir: Path) -> None:
    wid, first = await ready_orchestration(api, CODE)
    body, headers = upload_body(make_zip({"main.py": CODE}), {"workspace_id": wid, "name": "again"})
    second = (await api("orchestration/upload", raw=body, headers=headers))[1]
    blob = orch_data_dir / "blobs" / first["sha"][:2] / first["sha"]
    assert (await api("orchestration/delete_orchestrations", {"orchestrations": [first["id"]]}))[1] == {"bytes": 0}
    assert blob.exists()
    assert (await api("orchestration/delete_orchestrations", {"orchestrations": [second["id"]]}))[1]["bytes"] > 0
    assert not blob.exists()


async def test_an_active_task_needs_confirm_delete_and_unknown_ids_change_nothing(api: Api) -> None:
    wid, orch = await ready_orchestration(api, "import time\ntime.sleep(60)\n")
    task_id = (await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}}))[1]["id"]
    await wait_task(api, task_id, "started")
    status, refused = await api("orchestration/delete_orchestrations", {"orchestrations": [orch["id"]]})
    assert status == 409 and "confirm_delete" in refused["msg"]
    unknown = "8e0f7c3c-8d7a-4e43-9c39-0f3bb1e9c7a1"
    status, _ = await api("orchestration/delete_orchestrations", {"orchestrations": [orch["id"], unknown],
                                                                  "confirm_delete": True})
    assert status == 404
    assert (await api("task/get_by_id", {"id": task_id}))[1]["status"] == "started"  # nothing happened
    assert (await api("orchestration/delete_orchestrations", {"orchestrations": []}))[0] == 400
    status, _ = await api("orchestration/delete_orchestrations", {"orchestrations": [orch["id"]],
                                                                  "confirm_delete": True})
    assert status == 200 and (await api("task/get_by_id", {"id": task_id}))[0] == 404


async def test_a_task_is_deleted_with_its_runs(api: Api) -> None:
    wid, orch = await ready_orchestration(api, CODE)
    task_id = (await api("task/run_once", {"workspace_id": wid, "orch_id": orch["id"], "json": {}}))[1]["id"]
    run_id = (await wait_task(api, task_id))["last_runs"][0]["run_id"]
    assert await api("task/delete", {"id": task_id}) == (200, {})
    assert (await api("task/get_logs_for_run", {"id": run_id}))[0] == 404
    assert (await api("task/delete", {"id": task_id}))[0] == 404
    assert (await api("orchestration/get_by_id", {"id": orch["id"]}))[0] == 200  # the orchestration stays


async def test_the_sweep_keeps_the_newest_runs_and_removes_what_nothing_uses(
    api: Api, jp_serverapp: Any, orch_data_dir: Path
) -> None:
    wid, orch = await ready_orchestration(api, CODE)
    cron = (await api("task/run_scheduled", {"workspace_id": wid, "orch_id": orch["id"], "json": {},
                                             "schedule": "* * * * * *"}))[1]["id"]
    await api("task/list_task_runs", {"task_id": cron, "status": "success", "wait_for_count": 4, "wait_timeout": 60})
    await api("task/kill", {"id": cron})
    await wait_task(api, cron)
    runs = (await api("task/list_task_runs", {"task_id": cron}))[1]
    assert len(runs) >= 4
    orphan = orch_data_dir / "blobs" / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x" * 1000)
    fresh = orphan.with_name("ab" + "1" * 62)
    fresh.write_bytes(b"y")
    an_hour_ago = time.time() - 7200
    os.utime(orphan, (an_hour_ago, an_hour_ago))

    engine = engine_of(jp_serverapp)
    engine.retention.settings = replace(engine.retention.settings, keep_runs_per_task=2)
    swept = await engine.retention.sweep()
    kept = (await api("task/list_task_runs", {"task_id": cron}))[1]
    assert [r["run_id"] for r in kept] == [r["run_id"] for r in runs[:2]]  # the newest two
    assert swept.runs == len(runs) - 2 and swept.bytes >= 1000
    assert (await api("task/get_logs_for_run", {"id": runs[-1]["run_id"]}))[0] == 404
    assert not orphan.exists() and fresh.exists()  # a blob just written may be an upload in progress
    assert (orch_data_dir / "blobs" / orch["sha"][:2] / orch["sha"]).exists()


async def infer(jp_fetch: Any) -> int:
    try:
        response = await jp_fetch("v1", "api", "pipelines", "infer", "pipe", method="POST", body=SMOKE,
                                  headers={"Content-Type": RECORDS})
    except HTTPClientError as refused:
        return refused.code
    return int(response.code)


async def test_a_pipeline_and_then_its_model_are_deleted(api: Api, jp_fetch: Any, orch_data_dir: Path) -> None:
    workspace_id = await deployed_pipeline(api)
    assert await infer(jp_fetch) == 200
    engine_log = orch_data_dir / "inference_logs"
    model = (await api("models/list", {"workspace_id": workspace_id}))[1]["models"][0]
    status, refused = await api("models/delete", {"id": model["id"]})
    assert status == 409 and "pipe" in refused["msg"]

    assert await api("pipelines/delete", {"pipeline_id": "pipe"}) == (200, {})
    assert (await api("pipelines/get", {"pipeline_id": "pipe"}))[0] == 404
    assert await infer(jp_fetch) == 404
    assert not list(engine_log.glob("*/*/*.parquet"))
    status, answer = await api("models/delete", {"id": model["id"]})
    assert status == 200 and answer["bytes"] > 0
    assert not (orch_data_dir / "blobs" / model["sha"][:2] / model["sha"]).exists()
    assert (await api("models/get", {"id": model["id"]}))[0] == 404
