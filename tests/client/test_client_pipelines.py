"""Models, pipelines, inference (DataFrame as records JSON, Table as Arrow IPC) and logs."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import numpy as np
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import pytest

from jupyter_orch.client import ApiError, Client, EntityNotFoundError, ModelVersion, Pipeline
from jupyter_orch.compat.wallaroo import DeploymentConfigBuilder
from jupyter_orch.compat.wallaroo.framework import Framework
from tests.client.conftest import SAMPLES


def expected_prediction(row: list[float]) -> float:
    session = ort.InferenceSession(str(SAMPLES / "rf_model.onnx"), providers=["CPUExecutionProvider"])
    return float(session.run(None, {"float_input": np.array([row], dtype=np.float32)})[0][0][0])


def first_value(cell: object) -> float:
    values = list(cell) if not isinstance(cell, float | int) else [cell]  # type: ignore[arg-type]
    return float(values[0])


def deployed(wl: Client, name: str) -> tuple[ModelVersion, Pipeline]:
    model = wl.upload_model(f"{name}-model", SAMPLES / "rf_model.onnx", framework=Framework.ONNX)
    assert model.configure(tensor_fields=["tensor"]) is model
    pipeline = wl.build_pipeline(name).add_model_step(model)
    return model, pipeline.deploy(deployment_config=DeploymentConfigBuilder().replica_count(1).cpus(0.5).build())


def test_model_pipeline_infer_and_logs(wl: Client) -> None:
    model, pipeline = deployed(wl, "client-pipe")
    assert model.name() == "client-pipe-model" and model.version() and len(model.sha()) == 64
    assert pipeline.status()["status"] == "Running"
    assert wl.build_pipeline("client-pipe") == pipeline  # create-or-get
    assert wl.pipelines_by_name("client-pipe")[0] == pipeline == wl.get_pipeline("client-pipe")
    assert pipeline in wl.list_pipelines() and pipeline in wl.get_current_workspace().pipelines()
    with pytest.raises(EntityNotFoundError):
        wl.pipelines_by_name("no-such-pipeline")

    frame = pd.read_json(SAMPLES / "smoke_test.df.json", orient="records")
    row = list(frame["tensor"][0])
    want = expected_prediction(row)
    start = datetime.now()
    answer = pipeline.infer(frame)
    assert isinstance(answer, pd.DataFrame) and len(answer) == 1
    assert {"time", "in.tensor", "out.variable", "anomaly.count"} <= set(answer.columns)
    assert first_value(answer["out.variable"][0]) == pytest.approx(want, rel=1e-5)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    arrow_answer = pipeline.infer(table)
    assert isinstance(arrow_answer, pa.Table) and arrow_answer.num_rows == 1
    assert first_value(arrow_answer.column("out.variable").to_pylist()[0]) == pytest.approx(want, rel=1e-5)
    # The inputs stay home (Prefer: return=minimal) and are put back where the server puts them.
    assert arrow_answer.column_names == ["time", "in.tensor", "out.variable", "anomaly.count"]
    assert arrow_answer.column("in.tensor").to_pylist() == table.column("tensor").to_pylist()
    assert arrow_answer.schema.field("time").type == pa.timestamp("ms")
    assert isinstance(pipeline.infer_from_file(SAMPLES / "smoke_test.df.json"), pd.DataFrame)
    assert isinstance(pipeline.infer_from_file(SAMPLES / "smoke_test.arrow"), pa.Table)
    end = datetime.now() + timedelta(seconds=1)

    logs = pipeline.logs(start_datetime=start, end_datetime=end)
    assert isinstance(logs, pd.DataFrame) and len(logs) == 4
    assert {"time", "in.tensor", "out.variable"} <= set(logs.columns)
    assert [float(v) for v in logs["in.tensor"][0]] == pytest.approx(row)
    aware = pipeline.logs(start_datetime=start.astimezone(UTC), end_datetime=end.astimezone(UTC), arrow=True)
    assert isinstance(aware, pa.Table) and aware.num_rows == 4
    assert len(pipeline.logs(limit=2)) == 2
    assert pipeline.logs(start_datetime=end, end_datetime=end + timedelta(minutes=1)).empty
    with pytest.raises(ValueError, match="both"):
        pipeline.logs(start_datetime=start)
    with pytest.raises(ValueError, match="both"):
        pipeline.logs(end_datetime=end)

    assert "client-pipe" in repr(pipeline) and "<th>deployed</th>" in pipeline._repr_html_()
    assert "client-pipe-model" in pipeline._repr_html_()
    assert "client-pipe-model" in repr(model) and "<th>version</th>" in model._repr_html_()
    assert "client-pipe" in wl.list_pipelines()._repr_html_()

    assert pipeline.undeploy() is pipeline
    assert pipeline.status()["status"] == "Undeployed"
    assert pipeline.clear().steps() == []


def test_infer_rejects_other_types_and_unknown_frameworks(wl: Client) -> None:
    with pytest.raises(ValueError, match="ONNX"):
        wl.upload_model("m", SAMPLES / "rf_model.onnx", framework="tensorflow")
    pipeline = wl.build_pipeline("typed-pipe")
    with pytest.raises(TypeError, match="DataFrame or a pyarrow Table"):
        pipeline.infer([[1.0] * 18])  # type: ignore[arg-type]


def test_infer_answers_errors_and_survives_a_dropped_connection(wl: Client) -> None:
    _, pipeline = deployed(wl, "lane-pipe")
    frame = pd.read_json(SAMPLES / "smoke_test.df.json", orient="records")
    assert len(pipeline.infer(frame)) == 1
    lane = wl._inference._lane or wl._http._lane
    assert lane is not None and lane.sock is not None
    lane.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle connection does
    assert len(pipeline.infer(frame)) == 1
    with pytest.raises(ApiError) as refused:
        pipeline.infer(pd.DataFrame({"tensor": [[1.0, 2.0]]}))  # 2 features, the model takes 18
    assert refused.value.code == 400 and "needs lists of 18 numbers" in refused.value.msg
    pipeline.undeploy()
