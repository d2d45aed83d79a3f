"""Models, pipelines, inference and inference logs through the REST API (real onnxruntime)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import requests
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyter_orch.engine.pipelines.frames import ARROW_FILE, ARROW_STREAM, RECORDS
from jupyter_orch.samples import sample_paths
from tests.conftest import Api
from tests.support.multipart import upload_body
from tests.support.onnx_models import scale_model
from tests.support.server import ServerProcess

SAMPLES = sample_paths()
MODEL = SAMPLES["model"].read_bytes()
SMOKE = SAMPLES["smoke_test.df.json"].read_bytes()
BATCH_ARROW = SAMPLES["batch_1k.arrow"].read_bytes()


@pytest.fixture
def fetch(jp_fetch: Any) -> Any:
    """POST raw bytes to v1/api/<route>; return the response, 4xx included."""

    async def call(route: str, body: bytes, headers: dict[str, str] | None = None, **kwargs: Any) -> HTTPResponse:
        try:
            return await jp_fetch("v1", "api", *route.split("/"), method="POST", body=body, headers=headers or {},
                                  **kwargs)
        except HTTPClientError as e:
            assert e.response is not None
            return e.response

    return call


async def upload_model(api: Api, workspace_id: int, data: bytes = MODEL, name: str = "housing") -> tuple[int, Any]:
    body, headers = upload_body(data, {"name": name, "workspace_id": workspace_id}, "rf_model.onnx")
    return await api("models/upload", raw=body, headers=headers)


async def deployed_pipeline(api: Api, *models: bytes) -> int:
    status, ws = await api("workspaces/create", {"workspace_name": "ws"})
    workspace_id = ws["workspace_id"]
    status, pipeline = await api("pipelines/create", {"pipeline_id": "pipe", "workspace_id": workspace_id})
    assert status == 200
    for index, data in enumerate(models or (MODEL,)):
        status, model = await upload_model(api, workspace_id, data, f"model-{index}")
        assert status == 200, model
        step = {"pipeline_id": "pipe", "model_version_id": model["id"]}
        status, pipeline = await api("pipelines/add_model_step", step)
        assert status == 200, pipeline
    status, pipeline = await api("pipelines/deploy", {"pipeline_id": "pipe"})
    assert status == 200 and pipeline["status"] == "Running" and pipeline["deployed"] is True
    return workspace_id


def arrow(response: HTTPResponse) -> pa.Table:
    assert response.headers["Content-Type"] == ARROW_FILE
    return pa.ipc.open_file(response.body).read_all()


async def test_model_upload_list_get_and_configure(api: Api) -> None:
    _, ws = await api("workspaces/create", {"workspace_name": "ws"})
    status, model = await upload_model(api, ws["workspace_id"])
    assert status == 200
    assert model["name"] == "housing" and model["file_name"] == "rf_model.onnx" and len(model["sha"]) == 64
    assert model["inputs"] == [{"name": "float_input", "type": "tensor(float)", "shape": [None, 18]}]
    assert model["outputs"] == [{"name": "variable", "type": "tensor(float)", "shape": [None, 1]}]
    assert model["workspace_id"] == ws["workspace_id"] and model["config"] == {} and model["created_at"]
    status, listed = await api("models/list", {"workspace_id": ws["workspace_id"]})
    assert status == 200 and [m["version"] for m in listed["models"]] == [model["version"]]
    assert (await api("models/get", {"name": "housing"}))[1]["id"] == model["id"]
    assert (await api("models/get", {"id": model["version"]}))[1]["id"] == model["id"]
    status, configured = await api("models/configure", {"model_version_id": model["id"], "tensor_fields": ["t"]})
    assert status == 200 and configured["config"] == {"tensor_fields": ["t"]}
    assert (await api("models/configure", {"model_version_id": model["id"], "tensor_fields": "t"}))[0] == 400
    assert (await api("models/get", {"id": 99}))[0] == 404


@pytest.mark.parametrize(
    ("data", "metadata", "code", "words"),
    [
        (b"definitely not onnx", {"name": "m", "workspace_id": 1}, 400, "not a valid ONNX"),
        (MODEL[:1000], {"name": "m", "workspace_id": 1}, 400, "ONNX"),
        (MODEL, {"workspace_id": 1}, 400, "name"),
        (MODEL, {"name": "m"}, 400, "workspace_id"),
        (MODEL, {"name": "has space", "workspace_id": 1}, 400, "letter"),
        (MODEL, {"name": "m", "workspace_id": 42}, 404, "42"),
    ],
)
async def test_bad_model_uploads_are_4xx_and_store_nothing(
    api: Api, orch_data_dir: Path, data: bytes, metadata: dict[str, Any], code: int, words: str
) -> None:
    await api("workspaces/create", {"workspace_name": "ws"})
    body, headers = upload_body(data, metadata)
    status, error = await api("models/upload", raw=body, headers=headers)
    assert status == code and error["code"] == code and words in error["msg"]
    assert (await api("models/list", {"workspace_id": 1}))[1] == {"models": []}
    assert not [p for p in (orch_data_dir / "blobs").rglob("*") if p.is_file()]


async def test_pipeline_create_list_steps_status_and_undeploy(api: Api) -> None:
    workspace_id = await deployed_pipeline(api)
    status, again = await api("pipelines/create", {"pipeline_id": "pipe", "workspace_id": workspace_id})
    assert status == 200 and again["id"] == 1 and len(again["versions"]) == 2
    (step,) = again["steps"]
    assert step["name"] == "model-0" and step["model_version_id"] == 1 and len(step["sha"]) == 64
    status, listed = await api("pipelines/list", {"workspace_id": workspace_id})
    assert [p["name"] for p in listed["pipelines"]] == ["pipe"] and listed["pipelines"][0]["status"] == "Running"
    status, state = await api("pipelines/status", {"pipeline_id": "pipe"})
    assert state["status"] == "Running" and state["details"][0]["model_name"] == "model-0"
    status, cleared = await api("pipelines/clear", {"pipeline_id": "pipe"})
    assert cleared["steps"] == [] and len(cleared["versions"]) == 3 and cleared["status"] == "Running"
    status, undeployed = await api("pipelines/undeploy", {"pipeline_id": "pipe", "workspace_id": workspace_id})
    assert status == 200 and undeployed["status"] == "Undeployed" and undeployed["deployed"] is False
    assert (await api("pipelines/status", {"pipeline_id": "pipe"}))[1]["status"] == "Undeployed"
    waited = await api("pipelines/status", {"pipeline_id": 1, "wait_for": "terminal", "wait_timeout": 5})
    assert waited == (200, {"status": "Undeployed", "details": []})
    status, error = await api("pipelines/deploy", {"pipeline_id": "pipe"})
    assert status == 400 and "no steps" in error["msg"]
    assert (await api("pipelines/deploy", {"pipeline_id": "nope"}))[0] == 404
    assert (await api("pipelines/create", {"pipeline_id": "Bad Name", "workspace_id": workspace_id}))[0] == 400


async def test_infer_in_pandas_records_and_in_arrow(api: Api, fetch: Any) -> None:
    await deployed_pipeline(api)
    response = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS})
    assert response.code == 200 and response.headers["Content-Type"] == RECORDS
    (row,) = json.loads(response.body)
    assert list(row) == ["time", "in.tensor", "out.variable", "anomaly.count", "check_failures"]
    assert row["in.tensor"] == json.loads(SMOKE)[0]["tensor"] and 600_000 < row["out.variable"][0] < 800_000
    assert abs(row["time"] / 1000 - datetime.now(UTC).timestamp()) < 60
    table = arrow(await fetch("pipelines/infer/pipe", BATCH_ARROW, {"Content-Type": ARROW_FILE}))
    assert table.num_rows == 1000
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("in.tensor").type == pa.list_(pa.float32(), 18)
    assert table.schema.field("out.variable").type == pa.list_(pa.float32(), 1)
    stream = pa.BufferOutputStream()
    with pa.ipc.new_stream(stream, table.select(["in.tensor"]).rename_columns(["tensor"]).schema) as writer:
        writer.write_table(table.select(["in.tensor"]).rename_columns(["tensor"]))
    response = await fetch("pipelines/infer/pipe", stream.getvalue().to_pybytes(),
                           {"Content-Type": ARROW_STREAM}, params={"workspace_id": 1})
    assert response.code == 200 and response.headers["Content-Type"] == ARROW_STREAM
    again = pa.ipc.open_stream(response.body).read_all()
    assert again.column("out.variable").equals(table.column("out.variable"))


async def test_two_steps_chain_through_the_api(api: Api, fetch: Any) -> None:
    await deployed_pipeline(api, MODEL, scale_model(0.5))
    (row,) = json.loads((await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS})).body)
    assert "out.scaled" in row and 300_000 < row["out.scaled"][0] < 400_000


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b'[{"tensor": [1.0, 2.0]}]', RECORDS, "18"),
        (b'[{"features": [1.0]}]', RECORDS, "'tensor' column"),
        (b"{not json", RECORDS, "not valid JSON"),
        (b"[]", RECORDS, "non-empty"),
        (b"ARROW1 but not really", ARROW_FILE, "Arrow"),
    ],
)
async def test_bad_inputs_are_4xx_with_what_was_expected_and_log_nothing(
    api: Api, fetch: Any, body: bytes, content_type: str, words: str
) -> None:
    workspace_id = await deployed_pipeline(api)
    response = await fetch("pipelines/infer/pipe", body, {"Content-Type": content_type})
    error = json.loads(response.body)
    assert response.code == 400 and error["code"] == 400 and words in error["msg"], error
    status, logs = await api("pipelines/get_logs", {"pipeline_name": "pipe", "workspace_id": workspace_id})
    assert status == 200 and logs == []


async def test_undeployed_or_unknown_pipeline_and_no_token_are_refused(api: Api, fetch: Any) -> None:
    await deployed_pipeline(api)
    await api("pipelines/undeploy", {"pipeline_id": "pipe"})
    response = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS})
    assert response.code == 400 and "not deployed" in json.loads(response.body)["msg"]
    assert (await fetch("pipelines/infer/other", SMOKE, {"Content-Type": RECORDS})).code == 404
    unauthenticated = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS, "Authorization": ""})
    assert unauthenticated.code in (401, 403)


async def test_a_name_in_two_workspaces_needs_the_workspace_id(api: Api, fetch: Any) -> None:
    await deployed_pipeline(api)
    _, other = await api("workspaces/create", {"workspace_name": "other"})
    status, _ = await api("pipelines/create", {"pipeline_id": "pipe", "workspace_id": other["workspace_id"]})
    assert status == 200
    status, error = await api("pipelines/status", {"pipeline_id": "pipe"})
    assert status == 400 and "workspace_id" in error["msg"]
    response = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS})
    assert response.code == 400 and "workspace_id" in json.loads(response.body)["msg"]
    response = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS}, params={"workspace_id": 1})
    assert response.code == 200
    response = await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS},
                           params={"workspace_id": other["workspace_id"]})
    assert response.code == 400 and "not deployed" in json.loads(response.body)["msg"]


async def test_logs_range_paging_order_and_arrow(api: Api, fetch: Any) -> None:
    workspace_id = await deployed_pipeline(api)
    before = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(3):
        await fetch("pipelines/infer/pipe", SMOKE, {"Content-Type": RECORDS})
    await fetch("pipelines/infer/pipe", BATCH_ARROW, {"Content-Type": ARROW_FILE})
    after = datetime.now(UTC) + timedelta(seconds=1)
    query = {"pipeline_name": "pipe", "workspace_id": workspace_id}

    response = await fetch("pipelines/get_logs", json.dumps(query).encode())
    rows = json.loads(response.body)
    assert len(rows) == 100 and response.headers["x-iteration-status"] == "SomeRemaining"
    assert rows[0]["time"] >= rows[-1]["time"] and rows[0]["check_failures"] == 0  # newest first
    assert {"time", "in.tensor", "out.variable", "anomaly.count", "metadata.pipeline_version"} <= set(rows[0])

    seen, cursor = 0, None
    while True:
        body = {**query, "page_size": 300, "order": "asc", "start_time": before.isoformat(),
                "end_time": after.isoformat(), **({"cursor": cursor} if cursor else {})}
        response = await fetch("pipelines/get_logs", json.dumps(body).encode())
        seen += len(json.loads(response.body))
        cursor = response.headers.get("x-iteration-cursor")
        if response.headers["x-iteration-status"] == "All":
            assert not cursor
            break
    assert seen == 1003

    table = arrow(await fetch("pipelines/get_logs", json.dumps({**query, "page_size": 2000}).encode(),
                              {"Accept": ARROW_FILE}))
    assert table.num_rows == 1003 and "check_failures" in table.column_names
    old = {**query, "start_time": "2001-01-01T00:00:00+00:00", "end_time": "2001-01-02T00:00:00Z"}
    response = await fetch("pipelines/get_logs", json.dumps(old).encode())
    assert json.loads(response.body) == [] and response.headers["x-iteration-status"] == "All"
    assert "x-total-count" not in response.headers  # counted only when asked
    counted = await fetch("pipelines/get_logs", json.dumps({**query, "count": True}).encode())
    assert counted.headers["x-total-count"] == "1003" and len(json.loads(counted.body)) == 100
    counted = await fetch("pipelines/get_logs", json.dumps({**old, "count": True}).encode())
    assert counted.headers["x-total-count"] == "0"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"start_time": "2026-01-01T00:00:00Z"}, "both"),
        ({"end_time": "2026-01-01T00:00:00Z"}, "both"),
        ({"start_time": "yesterday", "end_time": "today"}, "ISO 8601"),
        ({"start_time": 0, "end_time": 2**63 - 1}, "epoch milliseconds"),
        ({"start_time": -1e300, "end_time": 1e300}, "epoch milliseconds"),
        ({"order": "sideways"}, "order"),
        ({"page_size": -1}, "page_size"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_bad_log_queries_are_400(api: Api, extra: dict[str, Any], words: str) -> None:
    workspace_id = await deployed_pipeline(api)
    status, error = await api("pipelines/get_logs", {"pipeline_name": "pipe", "workspace_id": workspace_id, **extra})
    assert status == 400 and words in error["msg"], error


def test_deployment_and_logs_survive_a_restart(server: ServerProcess, tmp_path: Path) -> None:
    workspace_id = server.post("workspaces/create", {"workspace_name": "ws"}).json()["workspace_id"]
    model = requests.post(
        server.api + "models/upload", headers=server.headers, timeout=60,
        files=[("file", ("rf_model.onnx", MODEL, "application/octet-stream")),
               ("metadata", ("metadata", json.dumps({"name": "housing", "workspace_id": workspace_id}),
                             "application/json"))],
    ).json()
    server.post("pipelines/create", {"pipeline_id": "pipe", "workspace_id": workspace_id})
    server.post("pipelines/add_model_step", {"pipeline_id": "pipe", "model_version_id": model["id"]})
    assert server.post("pipelines/deploy", {"pipeline_id": "pipe"}).json()["status"] == "Running"
    infer_headers = {**server.headers, "Content-Type": RECORDS}
    first = requests.post(server.api + "pipelines/infer/pipe", data=SMOKE, headers=infer_headers, timeout=30)
    assert first.status_code == 200
    server.stop()

    again = ServerProcess(root=tmp_path / "root2", data_dir=server.data_dir, extra_args=server.extra_args).start()
    try:
        logs = again.post("pipelines/get_logs", {"pipeline_name": "pipe", "workspace_id": workspace_id}).json()
        assert logs == first.json()[:1] or [r["time"] for r in logs] == [first.json()[0]["time"]]
        second = requests.post(again.api + "pipelines/infer/pipe", data=SMOKE,
                               headers={**again.headers, "Content-Type": RECORDS}, timeout=60)
        assert second.status_code == 200, second.text
        assert second.json()[0]["out.variable"] == first.json()[0]["out.variable"]
        logs = again.post("pipelines/get_logs", {"pipeline_name": "pipe", "workspace_id": workspace_id}).json()
        assert len(logs) == 2
    finally:
        again.stop()
