"""Models and pipelines against a real engine: real onnxruntime sessions, SQLite and Parquet."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from jupyter_orch.engine import Engine, Invalid, NotFound
from jupyter_orch.engine.pipelines.frames import ARROW_CODEC, JSON_CODEC, encode_arrow
from jupyter_orch.engine.pipelines.inference_log import make_query
from jupyter_orch.engine.pipelines.pipelines import InferenceSettings
from jupyter_orch.samples import sample_paths
from tests.support.engine import running_engine
from tests.support.onnx_models import add_model, scale_model

SMOKE = json.loads(sample_paths()["smoke_test.df.json"].read_text())
MODEL = sample_paths()["model"].read_bytes()


async def deployed(engine: Engine, *models: bytes, name: str = "pipe") -> int:
    workspace = await engine.workspaces.create(f"ws-{name}", "tester")
    await engine.pipelines.create(name, workspace.id)
    for index, data in enumerate(models or (MODEL,)):
        model = await engine.models.upload(workspace.id, f"model-{index}", data, None)
        await engine.pipelines.add_model_step(name, model.id)
    await engine.pipelines.deploy(name)
    return workspace.id


async def infer_json(engine: Engine, records: list[dict[str, Any]], name: str = "pipe") -> list[dict[str, Any]]:
    return json.loads(await engine.pipelines.infer(name, None, json.dumps(records).encode(), JSON_CODEC))


def logged_rows(engine: Engine, pipeline_id: int = 1) -> int:
    return engine.inference_log.query(pipeline_id, make_query(None, None, None, 100_000, None)).table.num_rows


async def test_upload_reads_the_signature_and_stores_by_sha(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        workspace = await engine.workspaces.create("ws", "tester")
        model = await engine.models.upload(workspace.id, "housing", MODEL, "rf_model.onnx")
        again = await engine.models.upload(workspace.id, "housing", MODEL, "rf_model.onnx")
        assert [(s.name, s.type, s.shape) for s in model.inputs] == [("float_input", "tensor(float)", [None, 18])]
        assert [(s.name, s.type, s.shape) for s in model.outputs] == [("variable", "tensor(float)", [None, 1])]
        assert model.sha == again.sha and model.version != again.version
        assert engine.blobs.path(model.sha).read_bytes() == MODEL
        assert (await engine.models.latest("housing")).id == again.id
        assert (await engine.models.get(model.version)).id == model.id
        assert [m.id for m in await engine.models.list(workspace.id)] == [model.id, again.id]
        assert (await engine.workspaces.get(workspace.id)).models == [model.id, again.id]


@pytest.mark.parametrize("data", [b"", b"not onnx at all", MODEL[: len(MODEL) // 2]])
async def test_a_corrupt_model_is_refused_and_nothing_is_stored(tmp_path: Path, data: bytes) -> None:
    async with running_engine(tmp_path) as engine:
        workspace = await engine.workspaces.create("ws", "tester")
        with pytest.raises(Invalid, match="model"):
            await engine.models.upload(workspace.id, "broken", data, None)
        assert await engine.models.list(workspace.id) == []
        assert not [p for p in engine.blobs.root.rglob("*") if p.is_file()]


async def test_steps_make_versions_and_create_returns_the_existing_pipeline(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        workspace = await engine.workspaces.create("ws", "tester")
        model = await engine.models.upload(workspace.id, "housing", MODEL, None)
        created = await engine.pipelines.create("pipe", workspace.id)
        assert created.status == "Undeployed" and created.steps == [] and len(created.versions) == 1
        stepped = await engine.pipelines.add_model_step("pipe", model.id)
        assert [s.model_version_id for s in stepped.steps] == [model.id]
        assert stepped.versions[1:] == created.versions and len(stepped.versions) == 2
        same = await engine.pipelines.create("pipe", workspace.id)
        assert same.id == created.id and same.versions == stepped.versions
        cleared = await engine.pipelines.clear("pipe")
        assert cleared.steps == [] and len(cleared.versions) == 3
        assert (await engine.pipelines.clear("pipe")).versions == cleared.versions  # no change, no version
        defined = await engine.pipelines.create(
            "other", workspace.id, {"steps": [{"ModelInference": {"models": [{"name": "housing"}]}}]}
        )
        assert [s.name for s in defined.steps] == ["housing"]
        assert [p.name for p in await engine.pipelines.list(workspace.id)] == ["pipe", "other"]
        with pytest.raises(Invalid, match="no steps"):
            await engine.pipelines.deploy("pipe")
        with pytest.raises(NotFound):
            await engine.pipelines.get("nope")


async def test_deploy_infer_log_and_undeploy(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        await deployed(engine)
        assert (await engine.pipelines.status("pipe"))["status"] == "Running"
        (row,) = await infer_json(engine, SMOKE)
        assert set(row) == {"time", "in.tensor", "out.variable", "anomaly.count", "check_failures"}
        assert row["in.tensor"] == SMOKE[0]["tensor"]
        assert 600_000 < row["out.variable"][0] < 800_000 and row["check_failures"] == 0
        batch = sample_paths()["batch_1k.arrow"].read_bytes()
        answer = pa.ipc.open_file(await engine.pipelines.infer("pipe", None, batch, ARROW_CODEC)).read_all()
        assert answer.num_rows == 1000 and answer.schema.field("out.variable").type.list_size == 1
        assert logged_rows(engine) == 1001
        undeployed = await engine.pipelines.undeploy("pipe")
        assert undeployed.status == "Undeployed" and not undeployed.deployed
        with pytest.raises(Invalid, match="not deployed"):
            await infer_json(engine, SMOKE)
        assert logged_rows(engine) == 1001


async def test_large_batches_are_split_over_threads_with_the_same_answer(tmp_path: Path) -> None:
    settings = InferenceSettings(threads=1, workers=3, chunk_rows=100)
    async with running_engine(tmp_path, inference=settings) as engine:
        await deployed(engine)
        table = pa.ipc.open_file(sample_paths()["batch_1k.arrow"].read_bytes()).read_all()
        whole = await engine.pipelines.infer("pipe", None, encode_arrow(table), ARROW_CODEC)
        singles = [await engine.pipelines.infer("pipe", None, encode_arrow(table.slice(i, 1)), ARROW_CODEC)
                   for i in (0, 499, 999)]
        out = pa.ipc.open_file(whole).read_all().column("out.variable").to_pylist()
        assert [out[i] for i in (0, 499, 999)] == [
            pa.ipc.open_file(s).read_all().column("out.variable").to_pylist()[0] for s in singles
        ]


async def test_steps_run_in_sequence_each_feeding_the_next(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        await deployed(engine, MODEL, scale_model(0.001), scale_model(2.0, input_name="scaled", output_name="doubled"))
        (row,) = await infer_json(engine, SMOKE)
        (single,) = json.loads(await _single_model_answer(engine))
        assert set(row) >= {"out.doubled"} and "out.variable" not in row
        assert row["out.doubled"][0] == pytest.approx(single["out.variable"][0] * 0.002, rel=1e-5)


async def _single_model_answer(engine: Engine) -> bytes:
    await deployed(engine, MODEL, name="single")
    return await engine.pipelines.infer("single", None, json.dumps(SMOKE).encode(), JSON_CODEC)


async def test_inputs_by_tensor_fields_by_input_name_and_by_stacked_features(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        workspace_id = await deployed(engine, add_model(2))
        (row,) = await infer_json(engine, [{"a": [1, 2], "b": [10, 20], "note": "kept"}])
        assert row["out.total"] == [11, 22] and row["in.note"] == "kept"
        model = await engine.models.configure(1, ["left", "right"])
        assert model.config == {"tensor_fields": ["left", "right"]}
        await engine.pipelines.undeploy("pipe")
        await engine.pipelines.deploy("pipe")
        (row,) = await infer_json(engine, [{"left": [1, 1], "right": [2, 3]}])
        assert row["out.total"] == [3, 4]
        with pytest.raises(Invalid, match="2 column"):
            await engine.models.configure(1, ["only-one"])
        scale = await engine.models.upload(workspace_id, "scale", scale_model(2.0, width=3), None)
        await engine.pipelines.create("stacked", workspace_id)
        await engine.pipelines.add_model_step("stacked", scale.id)
        await engine.pipelines.deploy("stacked")
        (row,) = await infer_json(engine, [{"f1": 1.0, "f2": 2.0, "f3": 3.0}], name="stacked")
        assert row["out.scaled"] == [2, 4, 6]
        with pytest.raises(Invalid, match="null"):
            await infer_json(engine, [{"f1": 1, "f2": 2, "f3": 3}, {"f1": 1, "f2": 2, "f3": None}], name="stacked")


@pytest.mark.parametrize(
    ("records", "words"),
    [
        ([{"tensor": [1.0] * 17}], "18"),
        ([{"tensor": [1.0] * 18}, {"tensor": [1.0] * 17}], "different lengths"),
        ([{"features": [1.0] * 18}], "'tensor' column"),
        ([{"tensor": ["a"] * 18}], "numbers"),
        ([{"tensor": None}], "null"),
        ({"tensor": [1.0] * 18}, "list of objects"),
    ],
)
async def test_bad_frames_are_refused_and_nothing_is_logged(tmp_path: Path, records: Any, words: str) -> None:
    async with running_engine(tmp_path) as engine:
        await deployed(engine)
        with pytest.raises(Invalid, match=words):
            await engine.pipelines.infer("pipe", None, json.dumps(records).encode(), JSON_CODEC)
        with pytest.raises(Invalid, match="Arrow"):
            await engine.pipelines.infer("pipe", None, b"not arrow", ARROW_CODEC)
        assert logged_rows(engine) == 0


async def test_deployed_pipelines_are_deployed_again_after_a_restart(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        await deployed(engine)
        await infer_json(engine, SMOKE)
    async with running_engine(tmp_path) as engine:
        assert (await engine.pipelines.get("pipe")).status in ("Starting", "Running")
        (row,) = await infer_json(engine, SMOKE)  # waits for the deployment to be ready
    async with running_engine(tmp_path) as engine:
        state = await engine.pipelines.wait_for_status("pipe", None, ("Running", "Error"), 30)
        assert state["status"] == "Running"
        assert (await engine.pipelines.status("pipe"))["status"] == "Running"
        assert logged_rows(engine) == 2 and row["out.variable"]


async def test_a_pipeline_that_cannot_be_redeployed_shows_error(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        await deployed(engine)
        sha = (await engine.models.get(1)).sha
    engine.blobs.path(sha).write_bytes(b"damaged on disk")
    async with running_engine(tmp_path) as engine:
        state = await engine.pipelines.wait_for_status("pipe", None, ("Running", "Error"), 30)
        assert state["status"] == "Error" and state["details"][0]["error"]
        with pytest.raises(Invalid, match="not deployed"):
            await infer_json(engine, SMOKE)


async def test_status_and_inference_events_are_published(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        events: list[dict[str, Any]] = []
        announced = asyncio.Event()
        engine.bus.subscribe(lambda e: (events.append(e), e["kind"] == "inference" and announced.set()))
        await deployed(engine)
        await infer_json(engine, SMOKE * 3)
        await asyncio.wait_for(announced.wait(), 10)
        await engine.pipelines.undeploy("pipe")
        statuses = [e["status"] for e in events if e["kind"] == "pipeline"]
        assert statuses == ["Starting", "Running", "Undeployed"]
        (inference,) = [e for e in events if e["kind"] == "inference"]
        assert inference["id"] == 1 and inference["pipeline_name"] == "pipe" and inference["rows"] == 3
        assert inference["batches"] == 1


async def test_a_burst_of_inferences_is_announced_in_a_few_events_with_every_row(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        events: list[dict[str, Any]] = []
        every_row = asyncio.Event()

        def heard(event: dict[str, Any]) -> None:
            if event["kind"] == "inference":
                events.append(event)
                if sum(e["rows"] for e in events) >= 100:
                    every_row.set()

        engine.bus.subscribe(heard)
        await deployed(engine)
        await asyncio.gather(*[infer_json(engine, SMOKE * 2) for _ in range(50)])
        await asyncio.wait_for(every_row.wait(), 10)
        assert sum(e["rows"] for e in events) == 100 and sum(e["batches"] for e in events) == 50
        assert len(events) < 25  # merged: at most one a tenth of a second
