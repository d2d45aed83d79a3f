"""The reference tutorial's flow end to end: orchestrations written for the reference SDK
(`import wallaroo`) run unchanged as tasks, infer through a deployed pipeline, and leave their
rows in the pipeline's log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
import onnxruntime as ort
import pytest
import requests

from jupyter_orch.client import Client, Pipeline
from tests.client.conftest import SAMPLES, serving
from tests.support.zips import make_zip

ROW = [4.0, 2.5, 2900.0, 5505.0, 2.0, 0.0, 0.0, 3.0, 8.0, 2900.0, 0.0, 47.6063, -122.02, 2970.0, 5251.0, 12.0, 0.0, 0.0]

TUTORIAL_MAIN = f"""\
import wallaroo
from wallaroo.object import EntityNotFoundError
import pandas as pd

wl = wallaroo.Client()

if wl.in_task():
    arguments = wl.task_args()
    workspace_name = arguments["workspace_name"]
    pipeline_name = arguments["pipeline_name"]
else:
    workspace_name = "apiorchestrationworkspace"
    pipeline_name = "apipipeline"


def get_workspace(name):
    workspace = None
    for ws in wl.list_workspaces():
        if ws.name() == name:
            workspace = ws
    if workspace == None:
        workspace = wl.create_workspace(name)
    return workspace


def get_pipeline(name):
    try:
        pipeline = wl.pipelines_by_name(name)[0]
    except EntityNotFoundError:
        pipeline = wl.build_pipeline(name)
    return pipeline


workspace = get_workspace(workspace_name)
wl.set_current_workspace(workspace)
pipeline = get_pipeline(pipeline_name)
pipeline.deploy()

df = pd.DataFrame.from_records([{{"tensor": {ROW!r}}}])
result = pipeline.infer(df)
print(result)
print("prediction:", round(float(result["out.variable"][0][0]), 1))
pipeline.undeploy()
"""

CONNECTION_MAIN = """\
import wallaroo
import pyarrow as pa
import requests

wl = wallaroo.Client()
arguments = wl.task_args()

inference_source_connection = wl.get_connection(arguments["connection_name"])
inference_request = requests.get(inference_source_connection.details()["host"])
with pa.ipc.open_file(inference_request.content) as source:
    arrow_table = source.read_all()

pipeline = wl.pipelines_by_name(arguments["pipeline_name"])[0]
pipeline.deploy()
result = pipeline.infer(arrow_table)
value = result.column("out.variable").to_pylist()[0]
value = value[0] if isinstance(value, list) else value
print("answer:", type(result).__name__, result.num_rows)
print("prediction:", round(float(value), 1))
"""



def expected() -> float:
    session = ort.InferenceSession(str(SAMPLES / "rf_model.onnx"), providers=["CPUExecutionProvider"])
    return round(float(session.run(None, {"float_input": np.array([ROW], dtype=np.float32)})[0][0][0]), 1)


def pipeline_with_model(wl: Client, name: str) -> Pipeline:
    model = wl.upload_model(f"{name}-model", str(SAMPLES / "rf_model.onnx")).configure(tensor_fields=["tensor"])
    return wl.build_pipeline(name).add_model_step(model)


def test_tutorial_orchestration_runs_unchanged(wl: Client) -> None:
    workspace = wl.get_current_workspace()
    pipeline = pipeline_with_model(wl, "apipipeline-e2e")
    headers = wl.auth.auth_header()  # the tutorial's REST calls, as written there
    metadata = f'{{"workspace_id": {workspace.id()},"name": "apiorchestrationsample"}}'
    response = requests.post(
        f"{wl.api_endpoint}/v1/api/orchestration/upload",
        headers=headers,
        files=[
            ("file", ("api_inference_orchestration.zip", make_zip({"main.py": TUTORIAL_MAIN}),
                      "application/octet-stream")),
            ("metadata", ("metadata", metadata, "application/json")),
        ],
        timeout=60,
    ).json()
    orchestration = wl.get_orchestration_by_id(response["id"]).wait_for_ready(timeout=60)
    assert orchestration.name() == "apiorchestrationsample"

    task_start = datetime.now()
    data = {
        "name": "api run once task",
        "workspace_id": workspace.id(),
        "orch_id": orchestration.id(),
        "json": {"workspace_name": workspace.name(), "pipeline_name": "apipipeline-e2e"},
    }
    url = f"{wl.api_endpoint}/v1/api/task/run_once"
    task_id = requests.post(url, headers=headers, json=data, timeout=60).json()["id"]
    task = wl.get_task_by_id(task_id).wait_for(timeout=180)
    task_end = datetime.now() + timedelta(seconds=1)
    (run,) = task.last_runs()
    assert task.status() == "success", "\n".join(run.logs())
    assert f"prediction: {expected()}" in run.logs().texts()

    logs = pipeline.logs(start_datetime=task_start, end_datetime=task_end)
    assert len(logs) == 1
    assert [float(v) for v in logs["in.tensor"][0]] == pytest.approx(ROW, rel=1e-6)
    assert pipeline.status()["status"] == "Undeployed"  # the script undeployed it


@pytest.fixture
def arrow_endpoint() -> Iterator[str]:
    """The sample Arrow file, served on 127.0.0.1."""
    with serving(SAMPLES) as base:
        yield base + "smoke_test.arrow"


def test_orchestration_reads_a_connection_and_infers_from_it(wl: Client, arrow_endpoint: str) -> None:
    pipeline = pipeline_with_model(wl, "connection-e2e")
    connection = wl.create_connection("e2e-inference-source", "HTTP", {"host": arrow_endpoint})
    wl.get_current_workspace().add_connection(connection.name())
    orchestration = wl.upload_orchestration(
        bytes_buffer=make_zip({"main.py": CONNECTION_MAIN, "requirements.txt": ""}), name="remote-inference"
    ).wait_for_ready(timeout=60)
    start = datetime.now()
    args = {"connection_name": connection.name(), "pipeline_name": "connection-e2e"}
    task = orchestration.run_once("remote inference", json_args=args).wait_for(timeout=180)
    (run,) = task.last_runs()
    assert task.status() == "success", "\n".join(run.logs())
    texts = run.logs().texts()
    assert "answer: Table 1" in texts and f"prediction: {expected()}" in texts
    assert arrow_endpoint not in json.dumps(wl.list_connections()._repr_html_())
    logs = pipeline.logs(start_datetime=start, end_datetime=datetime.now() + timedelta(seconds=1), arrow=True)
    assert logs.num_rows == 1
    pipeline.undeploy()
    wl.delete_connection(connection.name())
