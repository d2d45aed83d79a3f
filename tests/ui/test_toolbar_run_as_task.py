"""The notebook toolbar's "Run as task…" in a real browser: the open notebook is saved, uploaded
with its folder's files, and run as the task the dialog asks for. (The file's name sorts after
test_sidebar.py, whose first test needs the session's server still empty.)"""

from __future__ import annotations

from typing import Any

import nbformat
import pytest

from tests.support.server import ServerProcess
from tests.ui.helpers import choose_workspace, expect, shot

pytestmark = pytest.mark.browser


def test_run_as_task_uploads_the_open_notebook_and_runs_it(page: Any, panel: Any, lab: ServerProcess,
                                                           workspace: int) -> None:
    folder = lab.root / f"nbproj-{workspace}"
    folder.mkdir()
    (folder / "greeting.txt").write_text("hello from the folder")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("who = 'nobody'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(open('greeting.txt').read(), who)")]
    nbformat.write(nb, folder / "job.ipynb")
    choose_workspace(panel, workspace)
    open_it = "p => { window.jupyterapp.commands.execute('docmanager:open', {path: p}); }"
    page.evaluate(open_it, f"{folder.name}/job.ipynb")
    page.locator(".jp-Dialog button:has-text('No Kernel')").click(timeout=30_000)  # no kernelspec in it
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    button = page.locator(".jp-NotebookPanel-toolbar .jp-orch-run-as-task")
    expect(button).to_be_visible(timeout=30_000)
    button.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator('input[name="name"]')).to_have_value("job", timeout=60_000)
    dialog.locator('textarea[name="args"]').fill('{"who": "the button"}')
    shot(page, "21-run-notebook-as-task")
    dialog.locator("button.jp-mod-accept").click()

    row = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("job"))')
    expect(row.locator(".jp-orch-status").first).to_have_text("success", timeout=90_000)
    task = next(t for t in lab.post("task/list", {"workspace_id": workspace}).json() if t["name"] == "job")
    run_id = task["last_runs"][0]["run_id"]
    logs = lab.post("task/get_logs_for_run", {"id": run_id}).json()["logs"]
    assert any(line.endswith("hello from the folder the button") for line in logs), logs
    artifacts = lab.post("task/list_run_artifacts", {"id": run_id}).json()["artifacts"]
    assert [a["path"] for a in artifacts] == ["main.ipynb"]
