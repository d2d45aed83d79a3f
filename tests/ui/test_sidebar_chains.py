"""Chains in the sidebar, in a real browser: a task row shows its follow-ups, the follow-up's
row the run that started it, and that run's row the task it started."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.ui.helpers import choose_workspace, expect, shot, start, status_of, uploaded_ready

pytestmark = pytest.mark.browser


def test_a_task_row_shows_its_chain_and_the_runs_show_what_they_started(page: Any, panel: Any, lab: ServerProcess,
                                                                        workspace: int) -> None:
    job = uploaded_ready(lab, workspace, "job")
    report = uploaded_ready(lab, workspace, "report")
    cleanup = uploaded_ready(lab, workspace, "cleanup")
    task_id = start(lab, "task/run_once", name="nightly", workspace_id=workspace, orch_id=job,
                    on_success={"orch_id": report, "name": "report-after"}, on_failure={"orch_id": cleanup})
    choose_workspace(panel, workspace)
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    expect(status_of(row)).to_have_text("success", timeout=30_000)
    expect(row.locator('.jp-orch-follow-up[data-chain="on_success"]')).to_have_text("then report-after")
    expect(row.locator('.jp-orch-follow-up[data-chain="on_failure"]')).to_have_text("on failure cleanup")
    expect(row.locator('.jp-orch-follow-up[data-chain="on_failure"]')).to_have_attribute("data-orch-id", cleanup)

    (run,) = lab.post("task/list_task_runs", {"task_id": task_id}).json()
    follow_id = run["follow_up_task_id"]
    follow = panel.locator(f'li[data-task-id="{follow_id}"]')
    expect(follow.locator(".jp-orch-name")).to_have_text("report-after", timeout=15_000)
    expect(follow.locator(".jp-orch-upstream")).to_have_attribute("data-run-id", run["run_id"])
    expect(follow.locator(".jp-orch-upstream")).to_have_text(f"after run {run['run_id'][:8]}")
    expect(follow.locator(".jp-orch-follow-up")).to_have_count(0)

    row.click()
    started = panel.locator(f'[data-section="runs"] li[data-run-id="{run["run_id"]}"] .jp-orch-started-task')
    expect(started).to_have_attribute("data-task-id", follow_id, timeout=15_000)
    expect(started).to_have_text(f"started task {follow_id[:8]}")
    shot(page, "16-task-chain")
