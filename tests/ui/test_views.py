"""Pipelines and their inference log, connections, every workspace at once, and the sidebar
following the workspace a notebook's kernel switched to."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright import sync_api

from tests.support.onnx_models import scale_model
from tests.support.server import ServerProcess
from tests.ui.helpers import (
    choose_workspace,
    expect,
    expect_live,
    shot,
    shot_of,
    start,
    status_of,
    uploaded_ready,
)

pytestmark = pytest.mark.browser


def make_pipeline(lab: ServerProcess, workspace: int) -> str:
    name = f"uipipe{secrets.token_hex(3)}"
    assert lab.post("pipelines/create", {"pipeline_id": name, "workspace_id": workspace}).status_code in (200, 201)
    model = requests.post(
        lab.api + "models/upload",
        headers=lab.headers,
        files=[
            ("file", ("linear.onnx", scale_model(2.0, 3, "tensor", "variable"), "application/octet-stream")),
            ("metadata", ("metadata", json.dumps({"name": f"m{name}", "workspace_id": workspace}), "application/json")),
        ],
        timeout=30,
    )
    assert model.status_code in (200, 201), model.text
    step = lab.post("pipelines/add_model_step", {"pipeline_id": name, "model_version_id": model.json()["id"]})
    assert step.status_code in (200, 201), step.text
    return name


@pytest.mark.parametrize("theme", ["light", "dark"], indirect=True)
def test_pipeline_states_and_its_inference_log(
    page: Any, panel: Any, lab: ServerProcess, workspace: int, theme: str
) -> None:
    name = make_pipeline(lab, workspace)
    choose_workspace(panel, workspace)
    row = panel.locator(f'li[data-pipeline="{name}"]')
    expect(row).to_have_attribute("data-state", "undeployed", timeout=15_000)
    expect(status_of(row)).to_have_text("not deployed")
    expect(row.locator("time")).to_contain_text("created")
    row.locator('[data-action="deploy"]').click()
    # One state at a time: "deploying" while it starts, then "deployed" with the deploy time.
    expect(row).to_have_attribute("data-state", "deployed", timeout=60_000)
    expect(status_of(row)).to_have_text("deployed")
    expect(row.locator("time")).to_contain_text("deployed")
    assert "not deployed" not in row.inner_text()
    expect(row.locator('[data-action="undeploy"]')).to_have_attribute("aria-disabled", "false")
    shot(page, f"10-pipeline-deployed-{theme}")

    rows = [{"tensor": [float(i), 1.0, 0.0]} for i in range(150)]
    inferred = requests.post(
        lab.api + f"pipelines/infer/{name}",
        headers={**lab.headers, "Content-Type": "application/json; format=pandas-records"},
        data=json.dumps(rows),
        timeout=60,
    )
    assert inferred.status_code == 200, inferred.text

    row.locator('[data-action="open-log"]').click()
    view = page.locator(f'.jp-orch-inference[data-pipeline="{name}"]')
    body = view.locator(".jp-sortable-table tbody tr")
    expect(body).to_have_count(100, timeout=15_000)
    headers = view.locator(".jp-sortable-table thead th").all_inner_texts()
    assert headers[0].strip() == "time" and any("in.tensor" in h for h in headers), headers
    # Times are local, with the zone named, like everywhere else (not raw UTC ISO strings).
    first_time = view.locator('[data-column="time"]').first.inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC([+-][\d:]+)?", first_time), first_time
    expect(view.locator(".jp-orch-page-info")).to_have_text("page 1 · rows 1\u2013100 of 150")
    shot(page, f"11-inference-log-{theme}")

    view.locator('[data-action="next-page"]').click()
    expect(body).to_have_count(50, timeout=15_000)
    expect(view.locator(".jp-orch-page-info")).to_have_text("page 2 · rows 101\u2013150 of 150 · end")
    expect(view.locator('[data-action="next-page"]')).to_be_disabled()
    view.locator('[data-action="prev-page"]').click()
    expect(body).to_have_count(100, timeout=15_000)
    view.locator("select.jp-orch-page-size").select_option("25")
    expect(body).to_have_count(25, timeout=15_000)
    with page.expect_download() as download:
        view.locator('[data-action="export-csv"]').click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 26 and lines[0].startswith("time,"), lines[:2]

    view.locator("input.jp-orch-from").fill("2001-01-01T00:00:00")
    view.locator("input.jp-orch-to").fill("2001-01-02T00:00:00")
    view.locator('[data-action="apply"]').click()
    expect(view.locator(".jp-orch-empty")).to_be_visible(timeout=15_000)

    row.locator('[data-action="undeploy"]').click()
    expect(row).to_have_attribute("data-state", "undeployed", timeout=60_000)


def test_connections_are_created_masked_and_deleted(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    choose_workspace(panel, workspace)
    section = panel.locator('[data-section="connections"]')
    section.locator(".jp-orch-section-toggle").click()  # folded by default
    section.locator('[data-action="create-connection"]').click()
    dialog = page.locator(".jp-Dialog")
    name = f"ui-conn-{secrets.token_hex(3)}"
    dialog.locator('input[name="name"]').fill(name)
    dialog.locator('textarea[name="details"]').fill('{"url": "https://x", "password": "s3cr3t-value"')
    expect(dialog.locator(".jp-orch-error")).to_contain_text("not valid JSON")
    dialog.locator('textarea[name="details"]').fill('{"url": "https://x", "password": "s3cr3t-value"}')
    dialog.locator("button.jp-mod-accept").click()
    row = section.locator(f'li[data-name="{name}"]')
    expect(row.locator(".jp-orch-details")).to_have_text("url: ••••, password: ••••", timeout=15_000)
    assert "s3cr3t-value" not in panel.inner_text()
    shot(page, "12-connections-masked")

    # Connections publish no events: one made elsewhere still shows up (the poll).
    other = f"ui-conn-{secrets.token_hex(3)}"
    made = lab.post("connections/create", {"name": other, "type": "HTTP", "details": {"k": "v"}}).json()
    lab.post("connections/add_to_workspace", {"workspace_id": workspace, "connection_id": made["id"]})
    expect(section.locator(f'li[data-name="{other}"]')).to_be_visible(timeout=30_000)

    row.locator('[data-action="delete-connection"]').click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    expect(row).to_have_count(0, timeout=15_000)
    assert name not in [c["name"] for c in lab.post("connections/list").json()["connections"]]


def test_all_workspaces_and_failures_elsewhere_named(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    other = lab.post("workspaces/create", {"workspace_name": f"elsewhere-{secrets.token_hex(3)}"}).json()
    crash = uploaded_ready(lab, other["workspace_id"], "far-crash", {"main.py": "raise SystemExit(2)\n"})
    uploaded_ready(lab, workspace, "near", {"main.py": "print('near')\n"})
    choose_workspace(panel, workspace)
    expect_live(panel)
    start(lab, "task/run_once", name="far-task", workspace_id=other["workspace_id"], orch_id=crash)
    toast = page.locator(".Toastify__toast", has_text='Run of "far-task"')
    expect(toast).to_contain_text(f"in {lab.post('workspaces/list').json()['workspaces'][-1]['name']}", timeout=30_000)

    panel.locator("select.jp-orch-workspace").select_option("all")
    names = panel.locator("li.jp-orch-orchestration .jp-orch-name").all_inner_texts
    expect(panel.locator('li.jp-orch-orchestration:has(.jp-orch-name:text-is("far-crash"))')).to_be_visible(
        timeout=15_000
    )
    assert {"near", "far-crash"} <= set(names())
    far = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("far-task"))')
    expect(far.locator(".jp-orch-workspace-name")).to_have_text(other.get("name", "") or re.compile("elsewhere-"))
    expect(panel.locator('[data-action="upload"]')).to_have_attribute("aria-disabled", "true")
    shot(page, "13-all-workspaces")


NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
              for src in ("%load_ext jupyter_orch", "%orch workspace {ws}", "%orch run {orch} --name from-notebook")],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_sidebar_follows_the_kernel_and_widgets_render(
    page: Any, panel: Any, lab: ServerProcess, workspace: int
) -> None:
    name = lab.post("workspaces/list").json()["workspaces"]
    ws_name = next(w["name"] for w in name if w["id"] == workspace)
    orch_id = uploaded_ready(lab, workspace, "from-kernel", {"main.py": "print('hello from the kernel run')\n"})
    nb = json.loads(json.dumps(NOTEBOOK).replace("{ws}", ws_name).replace("{orch}", orch_id))
    path = f"follow-{secrets.token_hex(3)}.ipynb"
    saved = requests.put(lab.url + f"api/contents/{path}", headers=lab.headers,
                         json={"type": "notebook", "format": "json", "content": nb}, timeout=30)
    assert saved.status_code in (200, 201), saved.text
    panel.locator("select.jp-orch-workspace").select_option("all")

    page.evaluate("p => { window.jupyterapp.commands.execute('docmanager:open', {path: p}); }", path)
    page.locator(".jp-Notebook").wait_for(timeout=30_000)
    kernel_choice = page.locator(".jp-Dialog button.jp-mod-accept", has_text="Select")
    with contextlib.suppress(sync_api.TimeoutError):
        kernel_choice.click(timeout=10_000)  # a notebook new to this lab asks for its kernel
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=60_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    select = panel.locator("select.jp-orch-workspace")
    expect(select.locator("option:checked")).to_have_text(ws_name, timeout=60_000)

    # The task widget, drawn by the browser: words, not raw values, and the run's log.
    widget = page.locator(".jp-OutputArea-output .widget-vbox").first
    expect(widget).to_contain_text("success", timeout=60_000)
    expect(widget).to_contain_text("runs once")
    expect(widget).to_contain_text("hello from the kernel run")
    assert "Oneshot" not in widget.inner_text()
    expect(panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("from-notebook"))')).to_be_visible()
    shot(page, "14-widget-and-followed-workspace")
    shot_of(widget, "task-widget")


def test_a_tutorial_shows_its_stored_widgets_readably_before_a_kernel_runs(page: Any, lab: ServerProcess) -> None:
    tutorial = Path(__file__).resolve().parents[2] / "notebooks" / "02_sdk_and_magics.ipynb"
    nb = json.loads(tutorial.read_text())
    saved = requests.put(lab.url + "api/contents/stored.ipynb", headers=lab.headers,
                         json={"type": "notebook", "format": "json", "content": nb}, timeout=30)
    assert saved.status_code in (200, 201), saved.text
    page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:open', {path: 'stored.ipynb'}); }")
    page.locator(".jp-Notebook").wait_for(timeout=30_000)
    with contextlib.suppress(sync_api.TimeoutError):
        page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click(timeout=10_000)
    first = next(i for i, cell in enumerate(nb["cells"]) for out in cell.get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in out.get("data", {}))
    page.evaluate(  # the notebook draws only the cells on screen
        "i => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = i; return nb.scrollToItem(i).then(() => true); }",
        first,
    )
    # Drawn from the saved widget state, or else as its text form: never a raw widget repr.
    notebook = page.locator(".jp-Notebook")
    expect(notebook).to_contain_text(re.compile(r"orchestration sdk-inference\W+ready"), timeout=30_000)
    assert "OrchestrationWidget(children" not in notebook.inner_text()
    shot(page, "15-stored-tutorial-widgets")
