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


def test_the_new_task_dialog_chains_to_an_orchestration_of_the_workspace(page: Any, panel: Any,
                                                                         lab: ServerProcess, workspace: int) -> None:
    job = uploaded_ready(lab, workspace, "extract")
    load = uploaded_ready(lab, workspace, "load")
    choose_workspace(panel, workspace)
    expect(status_of(panel.locator(f'li[data-orch-id="{load}"]'))).to_have_text("ready", timeout=15_000)
    panel.locator(f'li[data-orch-id="{job}"] [data-action="new-task"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('input[name="name"]').fill("extract-then-load")
    expect(dialog.locator('select[name="onSuccess"] option')).to_have_text(["nothing", "load"])  # not itself: a loop
    dialog.locator('select[name="onSuccess"]').select_option(label="load")
    shot(page, "17-new-task-follow-ups")
    dialog.locator("button.jp-mod-accept").click()

    row = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("extract-then-load"))')
    expect(row.locator('.jp-orch-follow-up[data-chain="on_success"]')).to_have_text("then load", timeout=15_000)
    expect(row.locator('.jp-orch-follow-up[data-chain="on_failure"]')).to_have_count(0)
    task = next(t for t in lab.post("task/list", {"workspace_id": workspace}).json()
                if t["name"] == "extract-then-load")
    assert task["on_success"] == {"orch_id": load, "workspace_id": workspace} and task["on_failure"] is None
    follow = panel.locator(".jp-orch-task:has(.jp-orch-upstream)")
    expect(follow.locator(".jp-orch-name")).to_have_text("load", timeout=30_000)


def test_a_tasks_follow_ups_are_edited_from_its_row(page: Any, panel: Any, lab: ServerProcess,
                                                    workspace: int) -> None:
    job = uploaded_ready(lab, workspace, "nightly-job")
    report = uploaded_ready(lab, workspace, "report")
    alert = uploaded_ready(lab, workspace, "alert")
    task_id = start(lab, "task/run_scheduled", workspace_id=workspace, orch_id=job, schedule="@yearly",
                    on_success={"orch_id": report, "name": "kept-name", "json": {"k": 1}})
    choose_workspace(panel, workspace)
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    row.locator('[data-action="edit-chain"]').click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator('select[name="onSuccess"]')).to_have_value(report)
    expect(dialog.locator('select[name="onFailure"]')).to_have_value("")
    dialog.locator('select[name="onFailure"]').select_option(label="alert")
    shot(page, "18-edit-follow-ups")
    dialog.locator("button.jp-mod-accept").click()
    expect(row.locator('.jp-orch-follow-up[data-chain="on_failure"]')).to_have_text("on failure alert",
                                                                                   timeout=15_000)
    task = lab.post("task/get_by_id", {"id": task_id}).json()
    assert task["on_failure"] == {"orch_id": alert, "workspace_id": workspace}
    assert task["on_success"] == {"orch_id": report, "workspace_id": workspace, "name": "kept-name", "json": {"k": 1}}

    row.locator('[data-action="edit-chain"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('select[name="onSuccess"]').select_option(label="nothing")
    dialog.locator("button.jp-mod-accept").click()
    expect(row.locator('.jp-orch-follow-up[data-chain="on_success"]')).to_have_count(0, timeout=15_000)
    assert lab.post("task/get_by_id", {"id": task_id}).json()["on_success"] is None
    lab.post("task/kill", {"id": task_id})
    expect(row.locator('[data-action="edit-chain"]')).to_have_count(0, timeout=30_000)
