"""A run's artifacts in the sidebar, in a real browser: listed under the run, downloaded, and a
notebook among them opened in JupyterLab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.ui.helpers import choose_workspace, expect, shot, start, status_of, uploaded_ready

pytestmark = pytest.mark.browser

NOTEBOOK = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# written by the run"]}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
WRITES = (
    "import json\nfrom pathlib import Path\n"
    "Path('outputs').mkdir()\n"
    "Path('outputs/report.txt').write_text('all good')\n"
    f"Path('outputs/run.ipynb').write_text(json.dumps({NOTEBOOK!r}))\n"
)


def test_a_runs_artifacts_are_listed_downloaded_and_a_notebook_opens(
    page: Any, panel: Any, lab: ServerProcess, workspace: int, tmp_path: Path
) -> None:
    orch_id = uploaded_ready(lab, workspace, "writer", {"main.py": WRITES})
    task_id = start(lab, "task/run_once", name="writer", workspace_id=workspace, orch_id=orch_id)
    choose_workspace(panel, workspace)
    panel.locator(f'li[data-task-id="{task_id}"]').click()
    run = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(status_of(run)).to_have_text("success", timeout=30_000)
    run_id = run.get_attribute("data-run-id")

    run.locator('[data-action="artifacts"]').click()
    artifacts = run.locator(".jp-orch-artifact")
    expect(artifacts).to_have_count(2, timeout=15_000)
    expect(artifacts.nth(0)).to_have_attribute("data-path", "report.txt")
    shot(page, "20-run-artifacts")
    with page.expect_download() as download:
        artifacts.nth(0).locator('[data-action="download-artifact"]').click()
    saved = tmp_path / "report.txt"
    download.value.save_as(saved)
    assert saved.read_text() == "all good"

    artifacts.nth(1).locator('[data-action="open-artifact"]').click()
    tab = page.locator('.jp-MainAreaWidget.jp-NotebookPanel:has-text("written by the run")')
    expect(tab).to_be_visible(timeout=20_000)
    copy = lab.root / "orch-artifacts" / str(run_id) / "run.ipynb"
    assert json.loads(copy.read_text())["cells"][0]["source"] in (["# written by the run"], "# written by the run")
    expect(page.locator(".jp-orch-logview")).to_have_count(0)  # clicks on the list are not the row's
