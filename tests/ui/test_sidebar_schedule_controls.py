"""The sidebar's schedule controls in a real browser: a schedule in a time zone with a run cap
(the preview asks the server), pause and resume from the row, and the edit dialog."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.ui.helpers import choose_workspace, expect, shot, start, status_of, uploaded_ready

pytestmark = pytest.mark.browser


def test_a_zoned_schedule_pauses_resumes_and_is_edited(page: Any, panel: Any, lab: ServerProcess,
                                                       workspace: int) -> None:
    orch_id = uploaded_ready(lab, workspace, "zoned")
    choose_workspace(panel, workspace)
    panel.locator(f'li[data-orch-id="{orch_id}"] [data-action="new-task"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('input[name="name"]').fill("paris-job")
    dialog.locator('input[value="schedule"]').check()
    dialog.locator('input[name="schedule"]').fill("30 2 * * *")
    dialog.locator('input[name="tz"]').fill("Mars/Base")
    expect(dialog.locator('.jp-orch-error[data-field="tz"]')).to_contain_text("Not a time zone")
    dialog.locator('input[name="tz"]').fill("Europe/Paris")
    expect(dialog.locator(".jp-orch-schedule-words")).to_contain_text("Europe/Paris")
    expect(dialog.locator(".jp-orch-fires li")).to_have_count(5)
    dialog.locator('input[name="maxRuns"]').fill("3")
    expect(dialog.locator(".jp-orch-fires li")).to_have_count(3)  # the server's preview, capped
    shot(page, "12-zoned-schedule-dialog")
    dialog.locator("button.jp-mod-accept").click()

    row = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("paris-job"))')
    expect(row.locator(".jp-orch-schedule")).to_have_attribute("data-tz", "Europe/Paris", timeout=15_000)
    expect(row.locator(".jp-orch-schedule")).to_contain_text("Europe/Paris")
    task = next(t for t in lab.post("task/list", {"workspace_id": workspace}).json() if t["name"] == "paris-job")
    assert (task["tz"], task["max_runs"], task["schedule"]) == ("Europe/Paris", 3, "30 2 * * *")

    row.locator('[data-action="pause"]').click()
    expect(status_of(row)).to_have_text("paused", timeout=15_000)
    expect(row.locator(".jp-orch-next-run")).to_have_count(0)
    row.locator('[data-action="resume"]').click()
    expect(status_of(row)).to_have_text("started", timeout=15_000)
    expect(row.locator(".jp-orch-next-run")).to_contain_text("next in")

    row.locator('[data-action="edit-schedule"]').click()
    edit = page.locator(".jp-Dialog")
    expect(edit.locator('input[name="name"]')).to_have_count(0)
    expect(edit.locator('input[name="tz"]')).to_have_value("Europe/Paris")
    edit.locator('input[name="schedule"]').fill("0 8 * * 1")
    edit.locator('input[name="tz"]').fill("America/New_York")
    edit.locator('input[name="maxRuns"]').fill("")
    expect(edit.locator(".jp-orch-fires li")).to_have_count(5)
    shot(page, "13-edit-schedule-dialog")
    edit.locator("button.jp-mod-accept").click()
    expect(row.locator(".jp-orch-schedule")).to_have_attribute("data-tz", "America/New_York", timeout=15_000)
    edited = lab.post("task/get_by_id", {"id": task["id"]}).json()
    assert (edited["schedule"], edited["tz"], edited["max_runs"]) == ("0 8 * * 1", "America/New_York", None)
    lab.post("task/kill", {"id": task["id"]})
    expect(status_of(row)).to_have_text("killed", timeout=30_000)
    expect(row.locator('[data-action="pause"]')).to_have_count(0)


def test_run_now_with_overrides_then_rerun_from_the_runs(page: Any, panel: Any, lab: ServerProcess,
                                                          workspace: int) -> None:
    echo = {"main.py": "from jupyter_orch import Client\nprint('args', Client().task_args())\n"}
    orch_id = uploaded_ready(lab, workspace, "echo", echo)
    task_id = start(lab, "task/run_scheduled", name="yearly", workspace_id=workspace, orch_id=orch_id,
                    schedule="@yearly", json={"v": 1})
    choose_workspace(panel, workspace)
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    row.locator('[data-action="run-now-with"]').click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator('textarea[name="args"]')).to_have_value('{"v":1}')
    dialog.locator('textarea[name="args"]').fill('{"v": 9}')
    dialog.locator("button.jp-mod-accept").click()

    runs = panel.locator('[data-section="runs"] li[data-run-id]')
    expect(runs).to_have_count(1, timeout=15_000)
    expect(status_of(runs.first)).to_have_text("success", timeout=30_000)
    first = lab.post("task/list_task_runs", {"task_id": task_id}).json()[0]
    assert first["input_data"] == {"v": 9}
    assert lab.post("task/get_by_id", {"id": task_id}).json()["input_data"] == {"v": 1}

    runs.first.locator('[data-action="rerun"]').click()
    expect(runs).to_have_count(2, timeout=15_000)
    expect(runs.first.locator(".jp-orch-rerun-of")).to_contain_text(first["run_id"][:8])
    expect(status_of(runs.first)).to_have_text("success", timeout=30_000)
    newest = lab.post("task/list_task_runs", {"task_id": task_id}).json()[0]
    assert (newest["rerun_of"], newest["input_data"]) == (first["run_id"], {"v": 9})
    lab.post("task/kill", {"id": task_id})
    expect(runs.first.locator('[data-action="rerun"]')).to_have_count(0, timeout=15_000)


def test_retries_set_in_the_dialog_show_their_attempts(page: Any, panel: Any, lab: ServerProcess,
                                                        workspace: int) -> None:
    orch_id = uploaded_ready(lab, workspace, "failing", {"main.py": "raise SystemExit('boom')\n"})
    choose_workspace(panel, workspace)
    panel.locator(f'li[data-orch-id="{orch_id}"] [data-action="new-task"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('input[name="name"]').fill("flaky")
    dialog.locator('input[name="retries"]').fill("-1")
    expect(dialog.locator('.jp-orch-error[data-field="retries"]')).to_be_visible()
    dialog.locator('input[name="retries"]').fill("2")
    dialog.locator('input[name="retryDelay"]').fill("0.2")
    dialog.locator("button.jp-mod-accept").click()

    row = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("flaky"))')
    expect(status_of(row)).to_have_text("failed", timeout=30_000)
    expect(row.locator(".jp-orch-attempt")).to_have_text("attempt 3 of 3", timeout=15_000)
    row.click()
    runs = panel.locator('[data-section="runs"] li[data-run-id]')
    expect(runs).to_have_count(3, timeout=15_000)
    expect(runs.first.locator(".jp-orch-attempt")).to_have_text("attempt 3")
    expect(runs.last.locator(".jp-orch-attempt")).to_have_count(0)  # the first try
    task = next(t for t in lab.post("task/list", {"workspace_id": workspace}).json() if t["name"] == "flaky")
    assert (task["max_retries"], task["retry_delay"]) == (2, 0.2)
