"""The sidebar as a person uses it: workspaces, orchestrations, tasks, runs and their logs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import ServerProcess
from tests.ui.helpers import (
    choose_workspace,
    contrast,
    expect,
    expect_live,
    open_palette,
    shot,
    shot_of,
    show_panel,
    start,
    status_of,
    upload,
    uploaded_ready,
    wait_restored,
    zip_file,
)

pytestmark = pytest.mark.browser

ALL = pytest.mark.parametrize("theme", ["light", "dark"], indirect=True)


def test_an_empty_server_offers_to_create_a_workspace(page: Any, panel: Any, lab: ServerProcess) -> None:
    if lab.post("workspaces/list").json()["workspaces"]:
        pytest.skip("needs the session's first page on an empty server")
    expect(panel.locator(".jp-orch-first-run")).to_contain_text("There is no workspace yet", timeout=15_000)
    shot(page, "01-empty-server")
    panel.locator(".jp-orch-first-run button", has_text="Create one").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("first-space")
    dialog.locator("button.jp-mod-accept").click()
    select = panel.locator("select.jp-orch-workspace")
    expect(select.locator("option:checked")).to_have_text("first-space", timeout=15_000)
    assert [w["name"] for w in lab.post("workspaces/list").json()["workspaces"]] == ["first-space"]
    expect(panel.locator(".jp-orch-first-run")).to_have_count(0)


@ALL
def test_upload_reaches_ready_live_and_shows_its_files(
    page: Any, panel: Any, lab: ServerProcess, workspace: int, theme: str
) -> None:
    choose_workspace(panel, workspace)
    expect_live(panel)
    panel.locator("input.jp-orch-file-input").set_input_files(
        files=[zip_file("picked.zip", {"main.py": "print('picked')\n", "data/rows.csv": "a,b\n1,2\n"})]
    )
    row = panel.locator('li.jp-orch-orchestration:has(.jp-orch-name:text-is("picked"))')
    expect(status_of(row)).to_have_text("ready", timeout=60_000)
    expect(row.locator(".jp-orch-sha")).not_to_be_empty()
    expect(row.locator("time")).to_have_attribute("title", re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    shot(page, f"02-orchestration-ready-{theme}")

    row.locator('[data-action="files"]').click()
    files = page.locator(".jp-orch-files")
    expect(files.locator(".jp-orch-file")).to_have_count(2, timeout=15_000)
    expect(files.locator(".jp-orch-file-name")).to_have_text("main.py")
    expect(files.locator(".jp-orch-file-text")).to_have_text("print('picked')\n")
    files.locator('.jp-orch-file[data-path="data/rows.csv"]').click()
    expect(files.locator(".jp-orch-file-text")).to_have_text("a,b\n1,2\n")
    with page.expect_download() as download:
        files.locator('[data-action="download-zip"]').click()
    assert download.value.suggested_filename == "picked.zip"
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"
    shot(page, f"02b-orchestration-files-{theme}")


def test_rejected_uploads_show_a_readable_message(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    choose_workspace(panel, workspace)
    picker = panel.locator("input.jp-orch-file-input")
    picker.set_input_files(files=[zip_file("broken.zip", {"README.md": "no entrypoint"})])
    toast = page.locator(".Toastify__toast", has_text="broken.zip")
    expect(toast).to_contain_text("main.py", timeout=15_000)
    assert "<html" not in toast.inner_text().lower()
    picker.set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.locator(".Toastify__toast", has_text="notes.txt")).to_contain_text("not a .zip")
    assert lab.post("orchestration/list", {"workspace_id": workspace}).json() == []


def test_packaging_error_names_the_log_in_words(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    choose_workspace(panel, workspace)
    expect_live(panel)
    orch_id = upload(lab, workspace, "bad-reqs", {"main.py": "print(1)\n", "requirements.txt": "not ! a req ===\n"})
    row = panel.locator(f'li[data-orch-id="{orch_id}"]')
    expect(status_of(row)).to_have_text("error", timeout=120_000)
    expect(page.locator(".Toastify__toast", has_text='Orchestration "bad-reqs" failed')).to_be_visible(timeout=15_000)
    assert "packaging_log" not in panel.inner_text()
    expect(row.locator(".jp-orch-packaging-log summary")).to_have_text("Packaging log")


@ALL
def test_run_logs_open_as_tabs_of_one_area(
    page: Any, panel: Any, lab: ServerProcess, workspace: int, theme: str
) -> None:
    orch_id = uploaded_ready(lab, workspace, "runner")
    choose_workspace(panel, workspace)
    orch_row = panel.locator(f'li[data-orch-id="{orch_id}"]')
    orch_row.locator('[data-action="run"]').click()  # a run-once task, selected
    task_row = panel.locator("li.jp-orch-task").first
    expect(task_row).to_have_attribute("aria-selected", "true", timeout=15_000)
    expect(task_row.locator(".jp-orch-run-type")).to_have_text("once")
    run_row = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(run_row).to_be_visible(timeout=15_000)

    # While it runs, its duration ticks.
    duration = run_row.locator(".jp-orch-duration")
    expect(duration).not_to_be_empty(timeout=10_000)
    first = duration.inner_text()
    if status_of(run_row).inner_text() == "running":
        expect(duration).not_to_have_text(first, timeout=5_000)

    run_row.click()
    log = page.locator(".jp-orch-logview").last
    expect(log.locator(".jp-orch-log-stdout", has_text="bye from the orchestration")).to_have_count(1, timeout=30_000)
    expect(log.locator(".jp-orch-logview-status .jp-orch-status")).to_have_text("success", timeout=30_000)
    assert log.locator(".jp-orch-log-line").count() == 4  # no line twice, the long one joined
    assert log.locator(".jp-orch-log-text").nth(2).evaluate("e => e.textContent.length") == 150_000
    expect(run_row.locator(".jp-orch-exit-code")).to_have_text("exit code 0", timeout=15_000)

    # stderr is readable in either theme: coloured text on the log's own background.
    stderr = log.locator(".jp-orch-log-stderr .jp-orch-log-text").first
    assert contrast(stderr) >= 3, f"stderr contrast {contrast(stderr):.1f} in {theme}"
    selected = panel.locator("li.jp-orch-task.jp-mod-selected .jp-orch-name").first
    assert contrast(selected) >= 4.5, f"selected row contrast {contrast(selected):.1f} in {theme}"

    # The toolbar: search, stderr only, download.
    toolbar = page.locator(".jp-orch-logview-widget .jp-Toolbar").last
    toolbar.locator("input.jp-orch-log-search").fill("warning")
    expect(log.locator(".jp-orch-log-line:visible")).to_have_count(1)
    expect(log.locator(".jp-orch-log-matches")).to_have_text("1 matching")
    toolbar.locator("input.jp-orch-log-search").fill("")
    toolbar.locator(".jp-orch-stderr-only input").check()
    expect(log.locator(".jp-orch-log-line:visible")).to_have_count(1)
    expect(log.locator(".jp-orch-log-line:visible")).to_contain_text("a warning on stderr")
    with page.expect_download() as download:
        toolbar.locator(".jp-orch-log-download").first.click()
    text = Path(download.value.path()).read_text()
    assert "stdout hello from the orchestration" in text and "stderr a warning on stderr" in text
    shot(page, f"04-run-log-{theme}")
    shot_of(panel, f"sidebar-{theme}")

    # "Run now" names the new task after the task, and its log joins the first as a tab.
    panel.locator("li.jp-orch-task").first.locator('[data-action="run-now"]').click()
    expect(panel.locator("li.jp-orch-task")).to_have_count(2, timeout=15_000)
    assert panel.locator("li.jp-orch-task .jp-orch-name").all_inner_texts() == ["runner", "runner"]
    newest = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(newest).to_be_visible(timeout=15_000)
    newest.click()
    expect(page.locator(".jp-orch-logview")).to_have_count(2, timeout=10_000)
    tab_bars = page.locator("#jp-main-dock-panel .lm-TabBar:has(li[data-id^='jp-orch-log-'])")
    expect(tab_bars).to_have_count(1)
    expect(tab_bars.locator("li[data-id^='jp-orch-log-']")).to_have_count(2)
    width = page.locator(".jp-orch-logview-widget:visible").first.bounding_box()["width"]
    assert width > 400, width
    shot(page, f"05-two-logs-as-tabs-{theme}")


def test_a_failing_schedule_raises_one_notification_that_counts(
    page: Any, panel: Any, lab: ServerProcess, workspace: int
) -> None:
    crash = {"main.py": "import sys\nprint('about to fail')\nsys.exit(3)\n"}
    orch_id = uploaded_ready(lab, workspace, "crasher", crash)
    choose_workspace(panel, workspace)
    expect_live(panel)
    task_id = start(lab, "task/run_scheduled", name="every-2s", workspace_id=workspace, orch_id=orch_id,
                    schedule="*/2 * * * * *")
    toasts = page.locator(".Toastify__toast", has_text='Run of "every-2s"')
    expect(toasts.first).to_contain_text("failed (exit code 3)", timeout=30_000)
    expect(toasts.first).to_contain_text("3 failures", timeout=30_000)
    expect(toasts).to_have_count(1)
    shot(page, "06-one-counting-notification")
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    expect(row.locator(".jp-orch-schedule")).to_have_text("every 2 seconds UTC")
    # The countdown to the next fire ticks.
    expect(row.locator(".jp-orch-next-run")).to_contain_text(re.compile(r"next (in \d+ s|due now)"))
    toasts.first.locator("button", has_text="Show log").click()
    expect(page.locator(".jp-orch-logview .jp-orch-log-stdout", has_text="about to fail").first).to_be_visible(
        timeout=15_000
    )
    lab.post("task/kill", {"id": task_id})
    expect(status_of(row)).to_have_text("killed", timeout=30_000)


def test_new_task_dialog_checks_its_fields_and_previews_the_schedule(
    page: Any, panel: Any, lab: ServerProcess, workspace: int
) -> None:
    orch_id = uploaded_ready(lab, workspace, "nightly")
    choose_workspace(panel, workspace)
    panel.locator(f'li[data-orch-id="{orch_id}"] [data-action="new-task"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator('input[name="name"]').fill("nightly-job")
    dialog.locator('textarea[name="args"]').fill('{"n": ')
    expect(dialog.locator('.jp-orch-error[data-field="args"]')).to_contain_text("Not valid JSON")
    dialog.locator('textarea[name="args"]').fill('{"n": 3}')
    expect(dialog.locator('.jp-orch-error[data-field="args"]')).to_have_count(0)
    dialog.locator('input[value="schedule"]').check()
    dialog.locator('input[name="schedule"]').fill("61 * * * *")
    expect(dialog.locator('.jp-orch-error[data-field="schedule"]')).to_be_visible()
    dialog.locator('input[name="schedule"]').fill("0 0 * * *")
    expect(dialog.locator(".jp-orch-schedule-words")).to_have_text("at 00:00, every day UTC")
    expect(dialog.locator(".jp-orch-fires li")).to_have_count(5)
    shot(page, "07-new-task-dialog")
    dialog.locator("button.jp-mod-accept").click()

    row = panel.locator('li.jp-orch-task:has(.jp-orch-name:text-is("nightly-job"))')
    expect(row).to_have_attribute("aria-selected", "true", timeout=15_000)
    expect(row.locator(".jp-orch-run-type")).to_have_text("scheduled")
    expect(row.locator(".jp-orch-next-run")).to_contain_text("next in")
    task = next(t for t in lab.post("task/list", {"workspace_id": workspace}).json() if t["name"] == "nightly-job")
    assert task["input_data"] == {"n": 3} and task["schedule"] == "0 0 * * *"

    # Killing a scheduled task asks first; then the row says so and Kill is off.
    row.locator('[data-action="kill"]').click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    expect(status_of(row)).to_have_text("killed", timeout=30_000)
    expect(row.locator('[data-action="kill"]')).to_have_attribute("aria-disabled", "true")


def test_tasks_sort_newest_first_and_filter(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    orch_id = uploaded_ready(lab, workspace, "lister", {"main.py": "print('x')\n"})
    for name in ("alpha", "beta", "gamma"):
        start(lab, "task/run_once", name=name, workspace_id=workspace, orch_id=orch_id)
    doomed = start(lab, "task/run_scheduled", name="doomed", workspace_id=workspace, orch_id=orch_id,
                   schedule="0 0 * * *")
    lab.post("task/kill", {"id": doomed})
    choose_workspace(panel, workspace)
    names = panel.locator("li.jp-orch-task .jp-orch-name")
    expect(names).to_have_count(4, timeout=15_000)
    assert names.all_inner_texts() == ["doomed", "gamma", "beta", "alpha"]
    panel.locator(".jp-orch-hide-killed input").check()
    expect(names).to_have_count(3)
    panel.locator("input.jp-orch-filter").fill("ET")
    expect(names).to_have_text(["beta"])
    panel.locator("input.jp-orch-filter").fill("")
    panel.locator("select.jp-orch-status-filter").select_option("success")
    expect(names).to_have_count(3, timeout=30_000)
    shot(page, "08-tasks-filtered")

    # The chosen workspace is remembered (IStateDB) across a reload. Lab writes its state to the
    # server's workspace file on a debounce: reload only once it is written.
    chosen = panel.locator("select.jp-orch-workspace option:checked").inner_text()
    saved = re.compile(rf'"jupyter-orch:sidebar:workspace": {workspace}\b')
    deadline = time.monotonic() + 15
    while not saved.search(requests.get(lab.url + "lab/api/workspaces", headers=lab.headers, timeout=10).text):
        assert time.monotonic() < deadline, "Lab did not save the chosen workspace"
        time.sleep(0.2)
    page.reload()
    wait_restored(page)
    show_panel(page)
    expect(panel.locator("select.jp-orch-workspace option:checked")).to_have_text(chosen, timeout=15_000)


def test_rows_by_keyboard_context_menu_and_palette(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    orch_id = uploaded_ready(lab, workspace, "keys", {"main.py": "print('k')\n"})
    for name in ("one", "two"):
        start(lab, "task/run_once", name=name, workspace_id=workspace, orch_id=orch_id)
    choose_workspace(panel, workspace)
    rows = panel.locator("li.jp-orch-task")
    expect(rows).to_have_count(2, timeout=15_000)
    rows.first.focus()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    expect(panel.locator('[data-section="runs"] .jp-orch-section-title')).to_have_text("Runs of one")

    rows.first.click(button="right")
    menu = page.locator(".lm-Menu")
    expect(menu.locator(".lm-Menu-itemLabel", has_text="Run Task Now")).to_be_visible()
    expect(menu.locator(".lm-Menu-itemLabel", has_text="Kill Task")).to_be_visible()
    shot(page, "09-context-menu")
    page.keyboard.press("Escape")

    # Sections fold from their header.
    header = panel.locator('[data-section="pipelines"] .jp-orch-section-toggle')
    expect(header).to_have_attribute("aria-expanded", "true")
    header.click()
    expect(header).to_have_attribute("aria-expanded", "false")

    palette = open_palette(page)
    palette.locator("input").fill("Orchestration Workspace")
    expect(palette.locator(".lm-CommandPalette-itemLabel", has_text="Create Orchestration Workspace")).to_be_visible()
    page.keyboard.press("Escape")


def test_status_bar_counts_running_tasks(page: Any, panel: Any, lab: ServerProcess, workspace: int) -> None:
    orch_id = uploaded_ready(lab, workspace, "sleeper", {"main.py": "import time\ntime.sleep(60)\n"})
    choose_workspace(panel, workspace)
    item = page.locator(".jp-orch-statusbar")
    expect(item).to_have_text("0 tasks running", timeout=15_000)
    task_id = start(lab, "task/run_once", name="long", workspace_id=workspace, orch_id=orch_id)
    expect(item).to_have_text("1 task running", timeout=15_000)
    lab.post("task/kill", {"id": task_id})
    expect(item).to_have_text("0 tasks running", timeout=30_000)
    row = panel.locator(f'li[data-task-id="{task_id}"]')
    row.click()
    run = panel.locator('[data-section="runs"] li[data-run-id]').first
    expect(run.locator(".jp-orch-exit-code")).to_have_text(re.compile("stopped by SIG(TERM|KILL)"), timeout=30_000)
    assert "exit -" not in panel.inner_text()
