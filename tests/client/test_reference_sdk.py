"""Scripts written for the reference's 2024-2026 SDK run unchanged through `import wallaroo`:
the same calls, in the same order, as its tutorials make them (comprehensive orchestration,
run continuously, several pipelines, connections), against a real server."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest

from jupyter_orch.client import ApiError, Client, WorkspaceNotFound
from tests.client.conftest import SAMPLES, serving
from tests.support.server import ServerProcess
from tests.support.zips import make_zip

# The reference's orchestration examples' main.py, as their users write them.
REMOTE_INFERENCE_MAIN = """\
import wallaroo
from wallaroo.object import EntityNotFoundError
import pandas as pd
import pyarrow as pa
import requests
import time

wl = wallaroo.Client()

# get the arguments
arguments = wl.task_args()

if "workspace_name" in arguments:
    workspace_name = arguments['workspace_name']
else:
    workspace_name = "orchestrationworkspace"

if "pipeline_name" in arguments:
    pipeline_name = arguments['pipeline_name']
else:
    pipeline_name = "orchestrationpipeline"

if "connection_name" in arguments:
    connection_name = arguments['connection_name']
else:
    connection_name = "houseprice_arrow_table"

print(f"Getting the workspace {workspace_name}")
workspace = wl.get_workspace(name=workspace_name)
wl.set_current_workspace(workspace)

print(f"Getting the pipeline {pipeline_name}")
pipeline = wl.get_pipeline(pipeline_name)

deploy_config = wallaroo.DeploymentConfigBuilder().replica_count(1).cpus(0.5).memory("1Gi").build()
pipeline.deploy(deployment_config=deploy_config, wait_for_status=False)

# verify the pipeline is running
while pipeline.status()['status'] != 'Running':
    time.sleep(0.5)
    print("Waiting for deployment.")
print(f"engine {pipeline.status()['engines'][0]['status']}")

# get the connection
inference_source_connection = wl.get_connection(name=connection_name)

print("Getting arrow table file")
# set accept as apache arrow table
headers = {
    'Accept': 'application/vnd.apache.arrow.file'
}
response = requests.get(
                inference_source_connection.details()['host'],
                headers=headers
            )

# Arrow table is retrieved
with pa.ipc.open_file(response.content) as reader:
    arrow_table = reader.read_all()

print("Inference time.  Displaying results after.")
result = pipeline.infer(arrow_table)
df = result.to_pandas()
print(df)
print(f"shape {df.shape} columns {list(df.columns)}")

pipeline.undeploy()
"""

BAD_WORKSPACE_MAIN = """\
import wallaroo

wl = wallaroo.Client()
workspace = wl.get_workspace(name=wl.task_args()["workspace_name"])
wl.set_current_workspace(workspace)
print("never here")
"""


@pytest.fixture
def wallaroo(wl: Client, orch_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """`import wallaroo` in a notebook of this server (it exports where it is to its kernels).
    After `wl`, which clears those variables."""
    monkeypatch.setenv("JUPYTER_ORCH_URL", orch_server.url)
    monkeypatch.setenv("JUPYTER_ORCH_TOKEN", orch_server.token)
    import jupyter_orch

    jupyter_orch.enable_wallaroo_alias()
    import wallaroo

    return wallaroo


@pytest.fixture
def suffix() -> str:
    """The reference tutorials' random four-letter suffix for unique names."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(4))


@pytest.fixture
def house_prices(tmp_path: Path) -> Iterator[str]:
    """Five rows of house data as an Arrow file, served on 127.0.0.1."""
    rows = pa.ipc.open_file(SAMPLES / "batch_1k.arrow").read_all().slice(0, 5)
    with pa.ipc.new_file(tmp_path / "houseprice_5.arrow", rows.schema) as writer:
        writer.write_table(rows)
    with serving(tmp_path) as base:
        yield base + "houseprice_5.arrow"


def wait_until_run_ended(task: object) -> None:
    """The reference tutorials sleep a while, then look at the last run; poll it instead."""
    deadline = time.monotonic() + 120
    while task.last_runs()[0].status() == "running":  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.2)


def test_comprehensive_orchestration_tutorial(wallaroo: ModuleType, suffix: str, house_prices: str,
                                              tmp_path: Path) -> None:
    from wallaroo.framework import Framework
    from wallaroo.task import ArbexStatus

    wl = wallaroo.Client()
    workspace_name = f"orchestrationworkspace{suffix}"
    pipeline_name = f"orchestrationpipeline{suffix}"
    model_name = f"orchestrationmodel{suffix}"
    connection_name = f"houseprice-arrow-table{suffix}"

    workspace = wl.get_workspace(name=workspace_name, create_if_not_exist=True)
    wl.set_current_workspace(workspace)
    housing_model_control = wl.upload_model(model_name, str(SAMPLES / "rf_model.onnx"),
                                            framework=Framework.ONNX).configure(tensor_fields=["tensor"])
    pipeline = wl.build_pipeline(pipeline_name)
    pipeline.add_model_step(housing_model_control)
    deploy_config = wallaroo.DeploymentConfigBuilder().replica_count(1).cpus(0.5).memory("1Gi").build()
    pipeline.deploy(deployment_config=deploy_config)
    sample = pipeline.infer_from_file(str(SAMPLES / "smoke_test.df.json"))
    assert list(sample.columns) == ["time", "in.tensor", "out.variable", "anomaly.count"]
    pipeline.undeploy()

    wl.create_connection(connection_name, "HTTPFILE", {"host": house_prices})
    workspace.add_connection(connection_name)

    zip_path = tmp_path / "remote_inference" / "remote_inference.zip"
    zip_path.parent.mkdir()
    zip_path.write_bytes(make_zip({"main.py": REMOTE_INFERENCE_MAIN, "requirements.txt": ""}))
    orchestration = wl.upload_orchestration(name="comprehensive sample", path=str(zip_path))
    while orchestration.status() != "ready":
        time.sleep(0.2)
    assert orchestration.id() in [o.id() for o in wl.list_orchestrations()]

    task_start = datetime.now()
    task = orchestration.run_once(
        name="simpletaskdemo",
        json_args={"workspace_name": workspace_name, "pipeline_name": pipeline_name,
                   "connection_name": connection_name},
        timeout=600,
    )
    while task.status() != "started":
        time.sleep(0.2)
    wait_until_run_ended(task)
    recent_run = task.last_runs()[0]
    texts = recent_run.logs().texts()
    assert recent_run.status() == "success", "\n".join(recent_run.logs())
    assert f"Getting the workspace {workspace_name}" in texts and "engine Running" in texts
    assert "shape (5, 4) columns ['time', 'in.tensor', 'out.variable', 'anomaly.count']" in texts
    assert task.status() == "started"  # what the reference says of a finished run-once task

    logs = pipeline.logs(start_datetime=task_start, end_datetime=datetime.now() + timedelta(seconds=1))
    assert list(logs.columns) == ["time", "in.tensor", "out.variable", "anomaly.count"] and len(logs) == 5
    assert logs["time"].dt.tz is None  # naive UTC, as the reference gives it
    assert abs(logs["time"][0] - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)

    scheduled_task = orchestration.run_scheduled(
        name="simple_inference_schedule", schedule="*/5 * * * *", timeout=600,
        json_args={"workspace_name": workspace_name, "pipeline_name": pipeline_name,
                   "connection_name": connection_name},
    )
    listed = wl.list_tasks(workspace_name=workspace_name)
    assert {t.id() for t in listed} == {task.id(), scheduled_task.id()}
    html = listed._repr_html_()
    assert "<td>Scheduled Run</td>" in html and f"<td>{workspace_name}</td>" in html
    killed = scheduled_task.kill()
    assert killed == "killed" and killed is ArbexStatus.KILLED  # no run in progress: killed at once
    assert [t.id() for t in wl.list_tasks(workspace_name=workspace_name)] == [task.id()]

    connection = wl.get_connection(connection_name)
    connection.delete_connection()
    wl.create_connection(connection_name, "HTTPFILE", {"host": house_prices})  # the name is free again
    wl.get_connection(connection_name).delete_connection()
    assert pipeline.status()["status"] == "Undeployed"


def test_a_task_with_bad_arguments_fails_where_it_fails_on_the_reference(wallaroo: ModuleType) -> None:
    wl = wallaroo.Client()
    with pytest.raises(WorkspaceNotFound) as missing:
        wl.get_workspace("bob")
    assert str(missing.value) == (
        "Workspace with name bob does not exist. If you would like to create one, send in the request "
        "with create_if_not_exist flag set to True."
    )
    with pytest.raises(TypeError, match="Workspace"):
        wl.set_current_workspace(None)

    wl.set_current_workspace(wl.get_workspace("reference-errors", create_if_not_exist=True))
    orchestration = wl.upload_orchestration(bytes_buffer=make_zip({"main.py": BAD_WORKSPACE_MAIN}), name="bad")
    orchestration.wait_for_ready(timeout=60)
    task = orchestration.run_once(name="bad args", json_args={"workspace_name": "bob"})
    task.wait_for("terminal", timeout=120)
    run = task.last_runs()[0]
    assert run.status() == "failure" and run.exit_code() == 1
    assert run.error() == f"jupyter_orch.client.errors.WorkspaceNotFound: {missing.value}"
    stderr = [line.split(" ", 3)[3] for line in run.logs() if line.split(" ", 3)[1] == "stderr"]
    assert stderr[:3] == [
        "Traceback (most recent call last):",
        '  File "main.py", line 4, in <module>',
        '    workspace = wl.get_workspace(name=wl.task_args()["workspace_name"])',
    ], "the user's code only: no launcher or runpy frames"
    assert not any("bootstrap.py" in line or "runpy" in line for line in stderr)
    assert "never here" not in run.logs().texts()


def test_lists_span_workspaces_and_take_the_reference_filters(wallaroo: ModuleType, wl: Client) -> None:
    reference = wallaroo.Client()
    first = wl.get_current_workspace()
    second = wl.create_workspace(f"{first.name()}-two")
    orchestrations = {}
    for workspace in (first, second):
        wl.set_current_workspace(workspace)
        orchestrations[workspace.id()] = wl.upload_orchestration(
            bytes_buffer=make_zip({"main.py": "print('hi')\n"}), name=f"in {workspace.name()}"
        ).wait_for_ready(60)
    task = orchestrations[second.id()].run_once("listed across workspaces")

    everywhere = reference.list_orchestrations()
    assert {o.id() for o in orchestrations.values()} <= {o.id() for o in everywhere}
    assert [o.id() for o in reference.list_orchestrations(workspace_id=first.id())] == [orchestrations[first.id()].id()]
    by_name = reference.list_orchestrations(workspace_name=second.name())
    assert [o.id() for o in by_name] == [orchestrations[second.id()].id()]
    html = everywhere._repr_html_()
    assert "<th>workspace id</th><th>workspace name</th>" in html
    assert f"<td>{first.name()}</td>" in html and f"<td>{second.name()}</td>" in html
    assert task.id() in {t.id() for t in reference.list_tasks()}
    assert [t.id() for t in reference.list_tasks(workspace_id=second.id())] == [task.id()]
    assert reference.list_tasks(workspace_name=first.name()) == []
    with pytest.raises(WorkspaceNotFound):
        reference.list_tasks(workspace_name="no-such-workspace")
    with pytest.raises(ValueError, match="not called"):
        reference.list_orchestrations(workspace_id=first.id(), workspace_name=second.name())

    # jupyter-orch's own client keeps listing the current workspace unless told otherwise
    assert [o.id() for o in wl.list_orchestrations()] == [orchestrations[second.id()].id()]
    assert [t.id() for t in wl.list_tasks(workspace_name=first.name())] == []
    assert task.wait_for("terminal", timeout=60).status() == "success"


def test_run_once_status_loop_ends_and_the_real_status_stays_visible(wallaroo: ModuleType, wl: Client) -> None:
    reference = wallaroo.Client()
    reference.set_current_workspace(wl.get_current_workspace())
    orchestration = reference.upload_orchestration(bytes_buffer=make_zip({"main.py": "print('quick')\n"}))
    orchestration.wait_for_ready(timeout=60)
    task = orchestration.run_once(name="quick", json_args={})
    assert task.wait_for("terminal", timeout=60) is task  # honest: it waits for the real end
    assert task.status() == "started"  # the run ended between two looks; the reference says started
    while task.status() != "started":  # the reference tutorials' loop, which must end
        time.sleep(5)
    assert wl.get_task_by_id(task.id()).status() == "success"  # jupyter-orch's client and REST: the truth
    assert wl._http.post("task/get_by_id", {"id": task.id()})["status"] == "success"
    assert "<th>last run status</th><td>success</td>" in task._repr_html_()
    assert "<th>status</th><td>success</td>" in task._repr_html_()


def test_kill_answers_the_status(wallaroo: ModuleType, wl: Client) -> None:
    from wallaroo.task import ArbexStatus

    reference = wallaroo.Client()
    reference.set_current_workspace(wl.get_current_workspace())
    service = reference.upload_orchestration(
        bytes_buffer=make_zip({"main.py": "import time\nprint('serving', flush=True)\ntime.sleep(60)\n"})
    ).wait_for_ready(timeout=60)
    task = service.run_continuously(name="service", json_args={})
    while task.status() != "started":
        time.sleep(0.2)
    answer = task.kill()
    assert answer is ArbexStatus.PENDING_KILL and answer == "pending_kill"
    assert repr(answer) == "<ArbexStatus.PENDING_KILL: 'pending_kill'>"
    assert task.wait_for("killed", timeout=60).status() == "killed"
    assert "<th>active</th><td>False</td>" in task._repr_html_()


def test_deploy_without_waiting_then_poll_the_status(wallaroo: ModuleType, wl: Client,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reference = wallaroo.Client()
    reference.set_current_workspace(wl.get_current_workspace())
    model = reference.upload_model("nowait-model", str(SAMPLES / "rf_model.onnx")).configure(tensor_fields=["tensor"])
    pipeline = reference.build_pipeline("nowait-pipeline")
    pipeline.add_model_step(model)
    config = wallaroo.DeploymentConfigBuilder().replica_count(1).cpus(0.5).memory("1Gi").build()
    began = time.monotonic()
    assert pipeline.deploy(deployment_config=config, wait_for_status=False) is pipeline
    assert capsys.readouterr().out == "Deployment initiated for nowait-pipeline. Please check pipeline status.\n"
    assert pipeline.status()["status"] in ("Starting", "Running")
    while pipeline.status()["status"] != "Running":
        assert time.monotonic() - began < 60
        time.sleep(0.1)

    status = pipeline.status()
    (engine,) = status["engines"]
    assert engine["status"] == "Running" and engine["ip"] == "127.0.0.1"
    assert engine["pipeline_statuses"] == {"pipelines": [{"id": "nowait-pipeline", "status": "Running"}]}
    (served,) = engine["model_statuses"]["models"]
    assert served["name"] == "nowait-model" and served["sha"] == model.sha() and served["status"] == "Running"
    assert [lb["status"] for lb in status["engine_lbs"]] == ["Running"] and status["sidekicks"] == []
    assert len(pipeline.infer_from_file(str(SAMPLES / "smoke_test.arrow"))) == 1
    pipeline.undeploy()
    assert pipeline.status() == {"status": "Undeployed", "details": [], "engines": [], "engine_lbs": [],
                                 "sidekicks": []}

    empty = reference.build_pipeline("nowait-empty")
    with pytest.raises(ApiError) as refused:  # refused at once, not in the background
        empty.deploy(wait_for_status=False)
    assert refused.value.code == 400 and "no steps" in refused.value.msg
    with pytest.raises(ApiError, match="'wait' must be true or false"):
        reference._http.post("pipelines/deploy", {"pipeline_id": pipeline.id(), "wait": "no"})


def test_inference_columns_follow_the_dataset_rule(wl: Client) -> None:
    model = wl.upload_model("dataset-model", SAMPLES / "rf_model.onnx").configure(tensor_fields=["tensor"])
    pipeline = wl.build_pipeline("dataset-pipe").add_model_step(model).deploy()
    table = pa.ipc.open_file(SAMPLES / "smoke_test.arrow").read_all()
    frame = table.to_pandas()
    start = datetime.now()

    assert pipeline.infer(table).column_names == ["time", "in.tensor", "out.variable", "anomaly.count"]
    answer = pipeline.infer(frame)
    assert list(answer.columns) == ["time", "in.tensor", "out.variable", "anomaly.count"]
    assert answer["time"].dt.tz is None
    assert abs(answer["time"][0] - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert pipeline.infer(table).schema.field("time").type == pa.timestamp("ms")
    seed_2023 = ["time", "in", "out", "check_failures"]  # the 2023 SDK's default dataset
    assert list(pipeline.infer(frame, dataset=seed_2023).columns) == ["time", "in.tensor", "out.variable",
                                                                       "check_failures"]
    assert pipeline.infer(table, dataset=["*", "metadata"]).num_columns == 4  # inference answers carry none
    assert pipeline.infer(table, dataset_exclude=["in"]).column_names == ["time", "out.variable", "anomaly.count"]
    assert pipeline.infer(table, dataset_separator="/").column_names == ["time", "in/tensor", "out/variable",
                                                                        "anomaly/count"]
    with pytest.raises(ValueError, match="dataset takes"):
        pipeline.infer(table, dataset=["everything"])

    end = datetime.now() + timedelta(seconds=1)
    logs = pipeline.logs(start_datetime=start, end_datetime=end)
    assert list(logs.columns) == ["time", "in.tensor", "out.variable", "anomaly.count"]
    assert len(logs) == 7  # the refused call inferred nothing
    assert logs["time"].dt.tz is None
    old_style = pipeline.logs(start_datetime=start, end_datetime=end, dataset=seed_2023, arrow=True)
    assert old_style.column_names == ["time", "in.tensor", "out.variable", "check_failures"]
    with_metadata = pipeline.logs(limit=1, dataset=["*", "metadata"], arrow=True).column_names
    assert with_metadata == ["time", "in.tensor", "out.variable", "anomaly.count", "metadata.pipeline_version",
                             "metadata.model_sha"]
    pipeline.undeploy()


def test_names_with_underscores(wallaroo: ModuleType, suffix: str) -> None:
    wl = wallaroo.Client()
    workspace = wl.get_workspace(f"multiple_pipeline_deployment_tutorial_{suffix}", create_if_not_exist=True)
    wl.set_current_workspace(workspace)
    model = wl.upload_model(f"house_price_model_{suffix}", str(SAMPLES / "rf_model.onnx"))
    pipeline = wl.build_pipeline(f"house_price_pipeline_{suffix}").add_model_step(model)
    assert pipeline.name() == f"house_price_pipeline_{suffix}"
    assert workspace.name() in [w.name() for w in wl.list_workspaces()]
