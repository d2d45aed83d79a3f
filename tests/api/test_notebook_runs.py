"""Notebook orchestrations against a real server: `main.ipynb` runs through a real kernel, its
arguments injected after the `parameters` cell, each output in the run log while it still
runs, and the executed notebook kept as an artifact (also when a cell fails)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from tests.api.test_tasks_server import until, workspace
from tests.support.server import ServerProcess
from tests.support.zips import make_zip


def notebook(*cells: str, parameters: str | None = None) -> str:
    nb = nbformat.v4.new_notebook()
    code = [nbformat.v4.new_code_cell(source) for source in cells]
    if parameters is not None:
        code.insert(1, nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells = code
    return str(nbformat.writes(nb))


GATED = notebook(
    "import os, time",
    "print('started for', who, flush=True)",
    "while not os.path.exists(gate):\n    time.sleep(0.05)\nprint('the gate opened')",
    "{'answer': 42}",
    parameters="who = 'nobody'\ngate = ''",
)
FAILING = notebook("print('before the failure')", "raise ValueError('bad input')", "print('never')")


def run_notebook(server: ServerProcess, wid: int, source: str, args: dict[str, Any]) -> tuple[str, str]:
    orch_id = server.upload_orchestration(wid, make_zip({"main.ipynb": source, "data.txt": "x"}), "nb")
    orch = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready", "wait_timeout": 60}).json()
    assert (orch["status"], orch["entrypoint"]) == ("ready", "main.ipynb"), orch
    task_id = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": args}).json()["id"]
    run = until(lambda: server.post("task/get_by_id", {"id": task_id}).json()["last_runs"], 30)[0]
    return task_id, run["run_id"]


def log_texts(server: ServerProcess, run_id: str) -> list[str]:
    return [line.split(" ", 3)[3] for line in server.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]]


def executed(server: ServerProcess, run_id: str) -> Any:
    artifacts = server.post("task/list_run_artifacts", {"id": run_id}).json()["artifacts"]
    assert [a["path"] for a in artifacts] == ["main.ipynb"]
    response = requests.get(server.url.rstrip("/") + artifacts[0]["url"], headers=server.headers, timeout=30)
    return nbformat.reads(response.text, as_version=4)


def test_a_notebook_runs_with_injected_arguments_and_streams_its_outputs(
    server: ServerProcess, tmp_path: Path
) -> None:
    wid = workspace(server)
    gate = tmp_path / "gate"
    task_id, run_id = run_notebook(server, wid, GATED, {"who": "the tester", "gate": str(gate), "not-a-name": 1})
    until(lambda: "started for the tester" in log_texts(server, run_id), 120)
    assert server.post("task/get_by_id", {"id": task_id}).json()["status"] == "started"  # still running
    gate.touch()
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 60}).json()
    texts = log_texts(server, run_id)
    assert task["status"] == "success", texts
    assert "the gate opened" in texts and "{'answer': 42}" in texts

    nb = executed(server, run_id)
    injected = nb.cells[2]
    assert injected.metadata.tags == ["injected-parameters"]
    assert injected.source == f"# Parameters\nwho = 'the tester'\ngate = {str(gate)!r}"
    assert nb.cells[3].outputs[0].text == "started for the tester\n"
    assert nb.cells[5].outputs[0].data["text/plain"] == "{'answer': 42}"


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])  # the `server` fixture's
def test_a_failing_cell_fails_the_run_and_keeps_the_notebook_so_far(server: ServerProcess) -> None:
    wid = workspace(server)
    task_id, run_id = run_notebook(server, wid, FAILING, {})
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 60}).json()
    run = server.post("task/list_task_runs", {"task_id": task_id}).json()[0]
    assert task["status"] == "failed" and run["exit_code"] == 1
    assert run["error"] == "the notebook failed in cell 2: ValueError: bad input"
    assert "before the failure" in log_texts(server, run_id)
    nb = executed(server, run_id)
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"] and nb.cells[2].outputs == []
    assert json.dumps(nb).count("never") == 1  # the source only: the cell after the failure did not run


def test_a_notebook_of_the_servers_files_is_uploaded_with_its_folder(server: ServerProcess) -> None:
    wid = workspace(server)
    folder = server.root / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "n.txt").write_text("7")
    (folder / "report.ipynb").write_text(notebook("print('n is', open('data/n.txt').read())"))
    answer = server.post("orchestration/upload_notebook", {"path": "project/report.ipynb", "workspace_id": wid})
    assert answer.status_code == 202, answer.text
    orch_id = answer.json()["id"]
    orch = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready", "wait_timeout": 60}).json()
    assert (orch["status"], orch["name"], orch["entrypoint"]) == ("ready", "report", "main.ipynb")
    files = server.post("orchestration/files", {"id": orch_id}).json()["files"]
    assert sorted(f["path"] for f in files) == ["data/n.txt", "main.ipynb"]
    task_id = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 90}).json()
    assert task["status"] == "success"
    assert "n is 7" in log_texts(server, task["last_runs"][0]["run_id"])

    for path in ("../outside.ipynb", "project/missing.ipynb", "project/data/n.txt"):
        refused = server.post("orchestration/upload_notebook", {"path": path, "workspace_id": wid})
        assert (refused.status_code, refused.json()["code"]) == (400, 400), path
    (folder / "main.py").write_text("print('me first')\n")
    refused = server.post("orchestration/upload_notebook", {"path": "project/report.ipynb", "workspace_id": wid})
    assert refused.status_code == 400 and "has a main.py" in refused.json()["msg"]
    assert str(server.root) not in refused.json()["msg"]


def test_a_notebook_named_at_upload_is_the_entrypoint(server: ServerProcess) -> None:
    wid = workspace(server)
    data = make_zip({"main.py": "print('not me')\n", "analysis.ipynb": notebook("print('the named notebook')")})

    def upload(entrypoint: str) -> requests.Response:
        metadata = json.dumps({"workspace_id": wid, "name": "named", "entrypoint": entrypoint})
        return requests.post(server.api + "orchestration/upload", headers=server.headers, timeout=60, files=[
            ("file", ("named.zip", data, "application/zip")), ("metadata", ("metadata", metadata, "application/json"))])

    for wrong in ("missing.ipynb", "main.txt"):
        refused = upload(wrong)
        assert (refused.status_code, refused.json()["code"]) == (400, 400), wrong
    orch_id = upload("analysis.ipynb").json()["id"]
    orch = server.post("orchestration/get_by_id", {"id": orch_id, "wait_for": "ready", "wait_timeout": 60}).json()
    assert orch["entrypoint"] == "analysis.ipynb"
    task_id = server.post("task/run_once", {"workspace_id": wid, "orch_id": orch_id, "json": {}}).json()["id"]
    task = server.post("task/get_by_id", {"id": task_id, "wait_for": "terminal", "wait_timeout": 90}).json()
    run_id = task["last_runs"][0]["run_id"]
    assert task["status"] == "success" and "the named notebook" in log_texts(server, run_id)
    artifacts = server.post("task/list_run_artifacts", {"id": run_id}).json()["artifacts"]
    assert [a["path"] for a in artifacts] == ["analysis.ipynb"]
